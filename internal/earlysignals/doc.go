// Package earlysignals catches socker's signals from the earliest point Go
// lets a program do so: its initialiser, which runs as soon as os/signal is
// initialised, before the Docker client's packages and every other package
// of socker (cmd/socker imports it first; see its init order in
// SECURITY.md). From then on no signal ends socker with Go runtime text:
// the caught ones queue in Stop, which wrapper.Main takes over (run stops
// its container on them; any other command ends with one line), or Handoff
// takes them back before socker re-executes itself (one caught by then ends
// socker with one line).
//
// What belongs here: the list of caught signals, the channel, the
// initialiser and Handoff. Nothing else: this package imports only os, os/signal,
// syscall and unsafe, so that nothing but the Go runtime and those packages (and the
// few standard ones they need) initialise before it. Adding an import, or
// a dependency of socker whose import path sorts before this package's and
// needs no more than they do, lets more code run before signals are caught
// (GODEBUG=inittrace=1 on a non-setuid build shows the order).
package earlysignals
