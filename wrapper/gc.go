package wrapper

// gc is `socker gc`: root only. Not yet written.
func gc(unsafeArgs []string) int {
	return say(ExitUsage, "socker gc is not available yet")
}
