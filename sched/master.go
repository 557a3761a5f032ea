package sched

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// masterForms names the values --master accepts, for error messages.
const masterForms = "host:port, host (port 5050), http[s]://host[:port][/path], or local[:N]"

// masterEndpoint turns a --master value other than local[:N] (see
// parseLocal) into the URL of the master's v1 scheduler API,
// "<scheme>://<host>:<port>[/<path>]/api/v1/scheduler".
//
// It takes the forms Mesos tools take: host:port, or a bare host meaning
// port 5050; or an http:// or https:// URL, whose port defaults to the
// scheme's (80, 443) and whose path, if any, is the prefix of a master
// behind a reverse proxy. An IPv6 address goes in brackets ([::1]:5050).
// Trailing slashes are dropped, and so is the endpoint's own path when
// the value already ends in it. It refuses, in one line that starts with
// "--master VALUE:" and names the accepted forms, an empty value, ZooKeeper
// (zk://) and any other scheme, user info (credentials go in --principal
// and --secret-file), a query or fragment, an empty host, a port outside
// 1-65535, and whitespace or control characters.
func masterEndpoint(master string) (string, error) {
	unprintable := func(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }
	shown := master
	if master == "" || strings.IndexFunc(master, unprintable) >= 0 {
		shown = strconv.Quote(master)
	}
	fail := func(reason string) (string, error) {
		return "", fmt.Errorf("--master %s: %s; accepted forms: %s", shown, reason, masterForms)
	}

	if master == "" {
		return fail("empty value")
	}
	if strings.IndexFunc(master, unprintable) >= 0 {
		return fail("contains whitespace or a control character")
	}
	var scheme, rest, defaultPort string
	if s, r, ok := strings.Cut(master, "://"); ok {
		scheme, rest = strings.ToLower(s), r
		defaultPort = map[string]string{"http": "80", "https": "443"}[scheme]
	} else {
		scheme, rest, defaultPort = "http", master, "5050" // host[:port], as Mesos tools take it
	}
	switch {
	case scheme == "zk":
		return fail("ZooKeeper master detection is not supported yet, give the leading master's host:port")
	case defaultPort == "":
		return fail(fmt.Sprintf("scheme %q is not supported", scheme))
	}
	if strings.ContainsAny(rest, "?#") {
		return fail("a query or fragment is not accepted")
	}
	authority, _, _ := strings.Cut(rest, "/")
	if strings.Contains(authority, "@") {
		return fail("user info is not accepted, give credentials with --principal and --secret-file")
	}
	if strings.Count(authority, ":") > 1 && !strings.HasPrefix(authority, "[") {
		return fail("an IPv6 address goes in brackets, as in [::1]:5050")
	}

	u, err := url.Parse(scheme + "://" + rest)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fail(err.Error())
	}
	if u.Hostname() == "" {
		return fail("no host")
	}
	port := u.Port()
	if port == "" && !strings.HasSuffix(u.Host, ":") {
		port = defaultPort
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fail(fmt.Sprintf("port %q is not from 1 to 65535", port))
	}
	endpoint := url.URL{
		Scheme: scheme,
		Host:   net.JoinHostPort(u.Hostname(), strconv.Itoa(n)),
		Path:   strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1/scheduler") + "/api/v1/scheduler",
	}
	return endpoint.String(), nil
}
