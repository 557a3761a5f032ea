package wrapper

// Step 1 of every command that needs the policy (run, explain, images, gc):
// the session. Privileges: setuid root, all of it. Nothing here reads a path
// or a value the caller names: the identity comes from the kernel, the
// config from the compiled-in path, and the audit log from the config.

import (
	"errors"
	"os"
	"time"

	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// session is what a command knows once begin has checked the installation:
// fixed from then on.
type session struct {
	start      time.Time
	caller     security.Caller
	host       string
	cfg        *security.Config
	audit      *security.AuditLog
	denyGroups map[uint32]string
}

// begin identifies the caller from the kernel, checks that setuid is in
// effect and the binary untamperable, then, as root, loads the config, opens
// the audit log and reads the passwd and group files. On a failure the
// session is still returned, to report (and, once the log is open, audit)
// it.
func begin() (*session, error) {
	s := &session{start: time.Now()}
	caller, setuid, err := security.KernelCaller()
	if err != nil {
		return s, failed(exitcode.Config, "identity", err)
	}
	s.caller = caller
	if !setuid {
		return s, failed(exitcode.Config, "not-setuid", errors.New(security.SetuidProblem("/proc/self/exe")))
	}
	if err := security.CheckBinary("/proc/self/exe"); err != nil {
		return s, failed(exitcode.Config, "install", err)
	}
	s.host, _ = os.Hostname()
	if s.cfg, err = security.LoadConfig(build.ConfigPath); err != nil {
		return s, failed(exitcode.Config, "config", err)
	}
	if s.audit, err = security.OpenAudit(s.cfg.Audit.Path); err != nil {
		return s, failed(exitcode.Config, "audit", err)
	}
	s.caller.LookupPasswd("/etc/passwd")
	if s.denyGroups, err = security.GroupIDs("/etc/group", s.cfg.Users.DenyGroups); err != nil {
		return s, failed(exitcode.Config, "config", err)
	}
	return s, nil
}

// policy is the part of the session security.Decide reads.
func (s *session) policy() security.Policy {
	return security.Policy{Config: s.cfg, DenyGroups: s.denyGroups, ConfigPath: build.ConfigPath}
}

// allowCaller applies the identity part of the policy: who may use socker
// at all.
func (s *session) allowCaller() error {
	return denial(security.DecideCaller(s.policy(), s.caller))
}

// record is an audit record of this session: who, where, which socker and
// which config. The launch adds what it knows (see launch.record).
func (s *session) record(event string) security.Record {
	r := security.Record{
		Event:   event,
		UID:     s.caller.UID,
		GID:     s.caller.GID,
		Groups:  s.caller.Groups,
		User:    s.caller.Name,
		Host:    s.host,
		PID:     os.Getpid(),
		Version: build.Version,
	}
	if s.cfg != nil {
		r.ConfigHash = s.cfg.Hash
		r.SeccompHash = s.cfg.SeccompHash
	}
	return r
}

// finish reports err (see report).
func (s *session) finish(err error) int { return s.report(err, s.record) }

// report reports err: it audits it (when the log is open) in a record made
// by record, prints one line and returns the exit status (see failure).
func (s *session) report(err error, record func(event string) security.Record) int {
	code, event, reason := classify(err)
	msg := err.Error()
	if s.audit != nil {
		r := record(event)
		r.Reason, r.Message = reason, msg
		if err := s.audit.Write(r); err != nil {
			msg += "; also failed to audit this: " + err.Error()
		}
	}
	return say(code, msg)
}
