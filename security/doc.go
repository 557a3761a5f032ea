// Package security holds socker's policy and the privileged primitives the
// setuid wrapper needs: the root-owned configuration, the caller's identity as
// the kernel reports it, the pure policy decision, the audit log, and the
// permanent privilege drop.
//
// What belongs here: code that decides whether a request is allowed and what
// the container may look like (Decide is a pure function: no I/O, table-,
// golden- and fuzz-tested), and the few system calls that change or prove the
// process's credentials.
//
// What does not belong here: talking to Docker or building the Docker API
// request (package wrapper), reading cgroups (package cgroup), or anything
// the scheduler does (package sched). Nothing in this package reads the
// environment: the caller controls it (SECURITY.md, P5).
//
// Threat model in one line: the caller and everything they control (argv,
// environment, fds, cwd, paths, image contents, timing) is hostile; root, the
// config file, dockerd and the Mesos agent are trusted. See SECURITY.md.
package security
