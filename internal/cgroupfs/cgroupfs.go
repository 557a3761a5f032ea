package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// RemoveTree rmdirs a cgroup directory bottom-up (cgroupfs has no unlink).
// A missing directory is not an error.
func RemoveTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := RemoveTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && err != syscall.ENOENT {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	return nil
}
