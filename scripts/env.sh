# Sourced by the project's scripts: puts the project's Node (>= 22.17, Node 24 preferred) first
# on PATH. The machines here ship Node 20, so scripts/setup installs Node 24 into .tools/.
KUMO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KUMO_ROOT
if [ -x "$KUMO_ROOT/.tools/node/bin/node" ]; then
  PATH="$KUMO_ROOT/.tools/node/bin:$PATH"
fi
PATH="$KUMO_ROOT/node_modules/.bin:$PATH"
export PATH
