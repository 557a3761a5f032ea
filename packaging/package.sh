#!/bin/sh
# Builds the socker .deb and .rpm into bin/pkg with nfpm (packaging/nfpm.yaml).
# Run by `make package`, which first builds bin/socker (`make build`, config
# path /etc/socker/socker.toml compiled in) and the man pages in bin/man
# (`make man`). This script builds bin/mrun itself.
#
# nfpm is not installed anywhere: it is built from the Go module proxy at the
# pinned version below (cached in Go's module and build caches afterwards).
#
# Package version. Debian and RPM must order it the same way, and a package
# built from a later commit must sort later:
#   - HEAD tagged vX.Y.Z ........................ X.Y.Z
#   - otherwise ................................. BASE~git<UTC commit time>.<hash>
#     where BASE is the newest vX.Y.Z tag's version with its patch level
#     raised (0.1.0 while there is no tag), so a development build sorts
#     before the release it leads to ("~" sorts before anything, in dpkg and
#     in rpm >= 4.10) and after the previous one. The commit time
#     (YYYYMMDDhhmmss) orders builds; the hash names the commit.
#   - a tree with uncommitted changes gets ".dirty" appended.
#   - PKG_VERSION in the environment overrides all of this (e.g. 1.2.3).
# The package release (deb revision, rpm release) is always 1.
set -eu

NFPM_VERSION=v2.45.2
NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
GO=${GO:-go}

cd "$(dirname "$0")/.."
die() { echo "package.sh: $*" >&2; exit 1; }

# The binary must read the packaged config.
[ "${CONFIG:-/etc/socker/socker.toml}" = /etc/socker/socker.toml ] ||
	die "CONFIG=$CONFIG: the package installs /etc/socker/socker.toml; build with the default CONFIG"
[ -x bin/socker ] || die "bin/socker is missing: run make package (it runs make build first)"
for m in socker.8.gz mrun.1.gz socker.toml.5.gz; do
	[ -s "bin/man/$m" ] || die "bin/man/$m is missing: run make package (it runs make man first)"
done

if [ -n "${PKG_VERSION:-}" ]; then
	version=$PKG_VERSION
else
	git rev-parse --git-dir >/dev/null 2>&1 || die "not a git checkout: set PKG_VERSION"
	if tag=$(git describe --tags --exact-match --match 'v[0-9]*.[0-9]*.[0-9]*' HEAD 2>/dev/null); then
		version=${tag#v}
	else
		if last=$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' HEAD 2>/dev/null); then
			last=${last#v}
			base=${last%.*}.$((${last##*.} + 1))
		else
			base=0.1.0
		fi
		when=$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)
		hash=$(git rev-parse --short=12 HEAD)
		version="$base~git$when.$hash"
	fi
	# Untracked files count too: they may be packaged (bin/ is ignored).
	if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
		version="$version.dirty"
	fi
fi
case $version in
	[0-9]*) ;;
	*) die "version $version must start with a digit (dpkg and rpm)" ;;
esac
case $version in
	*[!A-Za-z0-9.+~]*) die "version $version: only letters, digits and . + ~ are valid for both dpkg and rpm" ;;
esac

# Reproducible file times: the commit's, unless the caller chose.
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git rev-parse --git-dir >/dev/null 2>&1; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
	export SOURCE_DATE_EPOCH
fi

echo "package.sh: building bin/mrun"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o bin/mrun ./cmd/mrun

SOCKER_PKG_VERSION=$version
SOCKER_PKG_ARCH=$("$GO" env GOARCH)
SOCKER_PKG_MAINTAINER=${PKG_MAINTAINER:-socker maintainers <maintainers@sockerhpc.invalid>}
export SOCKER_PKG_VERSION SOCKER_PKG_ARCH SOCKER_PKG_MAINTAINER

mkdir -p bin/pkg
rm -f bin/pkg/socker_*.deb bin/pkg/socker-*.rpm
for packager in deb rpm; do
	echo "package.sh: nfpm $NFPM_VERSION $packager, version $version"
	"$GO" run "$NFPM" pkg --config packaging/nfpm.yaml --packager "$packager" --target bin/pkg/
done
ls -l bin/pkg/
