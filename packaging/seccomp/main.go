package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/profiles/seccomp"
)

const out = "packaging/seccomp/seccomp.json"

func main() {
	b, err := profile()
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "writing the seccomp profile:", err)
		os.Exit(1)
	}
}

// profile is Moby's default profile as Moby writes its default.json, with
// a final newline.
func profile() ([]byte, error) {
	b, err := json.MarshalIndent(seccomp.DefaultProfile(), "", "\t")
	return append(b, '\n'), err
}
