// Package exitcode holds the exit statuses of socker's own failures
// (sysexits.h), the one list both binaries use: socker exits with them, and
// mrun explains a task that ended with one. Otherwise socker exits with its
// container's status.
//
// What belongs here: the codes and a short meaning of each. Nothing else:
// this package imports nothing, so any package, the setuid one included, may
// import it.
package exitcode

const (
	Usage       = 64 // malformed command line
	Unavailable = 69 // Docker, the image or cgroups unavailable
	Software    = 70 // internal error
	Denied      = 77 // refused by policy
	Config      = 78 // configuration or installation problem
)

// Meaning says, for someone reading a task's status elsewhere (mrun), what
// socker's own exit code means; "" for any other status.
func Meaning(code int) string {
	switch code {
	case Usage:
		return "socker was called wrongly (usage)"
	case Unavailable:
		return "socker found Docker, the image or the task's cgroup unavailable on that node"
	case Software:
		return "socker failed internally"
	case Denied:
		return "socker refused the container by the site's policy (its audit log on that node has the reason)"
	case Config:
		return "socker is not installed or configured correctly on that node (socker doctor there says what)"
	}
	return ""
}
