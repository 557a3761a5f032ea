// Package docs is what socker and mrun say of themselves, as data: the
// manual pages socker(8), socker.toml(5) and mrun(1) (each a manual.Page, of
// which `--help` prints the text and internal/mangen writes the roff), the
// usage lines errors quote, and the documented config keys (ConfigKeys,
// also the table in admin.md, the one other file in this directory).
//
// What belongs here: prose and the few pure functions that assemble it into
// pages. It imports only internal/manual and internal/exitcode, so the man
// page generator links neither the Docker client nor mesos-go, and both
// binaries can import it without pulling the other's code in.
//
// What does not belong here: anything that runs (flag parsing, I/O, policy),
// and values decided elsewhere: the config path is a parameter (it is fixed
// at build time, see internal/build), exit codes come from internal/exitcode,
// and tests check that ConfigKeys matches security.Config and that each page
// documents what its program does.
package docs
