// Package build holds the values fixed when socker is built: its version and
// the path of the site policy it reads. They are set only by the linker
// (go build -ldflags "-X ..."; see the Makefile); no flag or environment
// variable can change them.
//
// What belongs here: those two variables. This package imports nothing, so
// socker, mrun and the manual page generator can all read them.
package build

var (
	// ConfigPath is the site policy file compiled into socker.
	ConfigPath = "/etc/socker/socker.toml"
	// Version is the socker version, recorded in every audit line.
	Version = "dev"
)
