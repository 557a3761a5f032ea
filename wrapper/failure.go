package wrapper

import (
	"errors"

	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// failure is the error of every step of a launch: what went wrong (err,
// whose text is the caller's one line), socker's exit status, the audit
// event ("deny" for a refusal, "error" otherwise) and a stable reason code.
type failure struct {
	code          int
	event, reason string
	err           error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// refused is a refusal that is not the policy's (a usage error, gc by a
// user).
func refused(code int, reason string, err error) error {
	return &failure{code: code, event: "deny", reason: reason, err: err}
}

// failed is a failure to do what was allowed.
func failed(code int, reason string, err error) error {
	return &failure{code: code, event: "error", reason: reason, err: err}
}

// denial returns the policy's refusal err (a *security.Denial) as a
// failure with exit status 77, and any other error as it is (nil for nil).
func denial(err error) error {
	var dn *security.Denial
	if errors.As(err, &dn) {
		return refused(exitcode.Denied, dn.Reason, err)
	}
	return err
}

// classify returns err's exit status, audit event and reason. An error that
// is no failure is socker's own fault (70).
func classify(err error) (code int, event, reason string) {
	var f *failure
	if errors.As(err, &f) {
		return f.code, f.event, f.reason
	}
	var dn *security.Denial
	if errors.As(err, &dn) {
		return exitcode.Denied, "deny", dn.Reason
	}
	return exitcode.Software, "error", "internal"
}
