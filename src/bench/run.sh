#!/bin/sh
# Benchmark saslauth against its peers: the Ruby helper it grew from, a bare JVM, and Dovecot's
# own auth server. Prints the machine and one table; see docs/benchmark.md.
# Not part of the build or of CI. Run as root (it starts a throwaway Dovecot):
#   src/bench/run.sh [--starts 31] [--rounds 5] [--logins 20000] [--challenge-logins 3000]
#                    [--banners 100] [--fresh-banners 30]
#                    [--only 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15] [--java PATH]...
# The Java helpers run on each --java runtime given; by default on `java` and on the newest
# JDK 25 or later under /usr/lib/jvm, if there is one (rows 1, 2, 4 and row 9's hashed logins
# show each, the others run on the first).
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
SHARED=${SASLAUTH_SHARED:-$REPO/../shared}
ORERE=$SHARED/peers/oreore.rb

if [ ! -f "$ORERE" ]; then
  echo "run.sh: the Ruby helper is not at $ORERE (set SASLAUTH_SHARED to the shared/ directory)" >&2
  exit 1
fi
missing=
command -v dovecot >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1 || missing="$missing dovecot-core"
command -v ruby >/dev/null 2>&1 || missing="$missing ruby"
# rows 13 and 15: a throwaway redis-server for the penalty store
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# row 9: connect-to-banner through a throwaway Postfix
command -v postfix >/dev/null 2>&1 || missing="$missing postfix"
# rows 6 and 7: Dovecot's passdb sql and ldap against a throwaway PostgreSQL and slapd
for pkg in dovecot-pgsql dovecot-ldap postgresql slapd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "run.sh: installing$missing" >&2
  apt-get update -qq >&2
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi

# row 14: the tests' OpenID provider (oidc-provider from npm) issues the tokens
if [ ! -d src/test/oidc/node_modules/oidc-provider ]; then
  echo "run.sh: installing the test OpenID provider (npm ci --prefix src/test/oidc)" >&2
  npm ci --prefix src/test/oidc --no-audit --no-fund --loglevel=error >&2
fi

if [ ! -f target/saslauth.jar ] || [ -n "$(find src/main pom.xml -newer target/saslauth.jar -print -quit)" ]; then
  echo "run.sh: building target/saslauth.jar" >&2
  mvn -q package -DskipTests >&2
fi
mkdir -p target/bench
javac --release 17 -d target/bench src/bench/BareHelper.java src/bench/LoadClient.java

runtimes=
case " $* " in
  *" --java "*) ;;
  *)
    runtimes="--java java"
    newest=$(grep -l '^JAVA_VERSION="\(2[5-9]\|[3-9][0-9]\)' /usr/lib/jvm/*/release 2>/dev/null | sort -V | tail -1)
    [ -n "$newest" ] && runtimes="$runtimes --java ${newest%/release}/bin/java"
    ;;
esac
# bench.py makes each runtime's start-up cache with the launcher, as an installation does.
exec python3 src/bench/bench.py --jar "$REPO/target/saslauth.jar" --launcher "$REPO/examples/saslauth" \
  --oreore "$ORERE" --bench-classes "$REPO/target/bench" $runtimes "$@"
