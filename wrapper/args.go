package wrapper

import (
	"fmt"
	"strings"

	"github.com/sockerhpc/socker/security"
)

// usageError is a malformed command line (exit 64).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// ParseRun parses the arguments of `socker run`. Options come before IMAGE;
// everything after IMAGE (after an optional "--") is the container's command,
// passed as argv and never interpreted. Each option takes its value as the
// next argument or after "=". Anything else that starts with "-" before IMAGE
// is an error, so an image name can never be taken for an option.
func ParseRun(unsafeArgs []string) (security.Request, error) {
	var req security.Request
	i := 0
	for ; i < len(unsafeArgs); i++ {
		a := unsafeArgs[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		var dst *[]string
		switch name {
		case "--mount":
			dst = &req.Mounts
		case "--env":
			dst = &req.Env
		case "--workdir":
		default:
			return req, usagef("unknown option %q (socker run takes only --mount, --workdir and --env)", a)
		}
		if !hasVal {
			if i+1 >= len(unsafeArgs) {
				return req, usagef("option %s needs a value", name)
			}
			i++
			val = unsafeArgs[i]
		}
		if dst != nil {
			*dst = append(*dst, val)
			continue
		}
		if req.Workdir != "" {
			return req, usagef("option --workdir given twice")
		}
		if val == "" {
			return req, usagef("option --workdir needs a value")
		}
		req.Workdir = val
	}
	if i >= len(unsafeArgs) {
		return req, usagef("no image given")
	}
	req.Image = unsafeArgs[i]
	if strings.HasPrefix(req.Image, "-") {
		return req, usagef("invalid image name %q: looks like an option", req.Image)
	}
	rest := unsafeArgs[i+1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return req, usagef("no command given")
	}
	req.Command = rest
	return req, nil
}
