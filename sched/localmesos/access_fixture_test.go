package localmesos

import "os"

// The captures' framework users (barsuser, alice, ...) are not users of
// this machine: in these tests every name but nosuchuser is the test's own
// uid, so that a connection of the test may subscribe as any of them.
// access_test.go checks authorizeFramework with the real lookup.
func init() {
	realLookup := lookupUID
	lookupUID = func(name string) (uint32, error) {
		if name == "nosuchuser" || name == "" {
			return realLookup(name)
		}
		return uint32(os.Getuid()), nil
	}
}
