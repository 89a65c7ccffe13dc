# Sourced by scripts/setup and scripts/build: where the project keeps what it installs outside
# the repository.
#   data_dir         the data directory (docs/data.md), the same rule as attend's at run time
#                    (include/attend/io/data_locations.h): ATTEND_DATA_DIR, else
#                    $XDG_DATA_HOME/attend, else ~/.local/share/attend
#   project_python   the interpreter of the project's virtualenv in it (made by scripts/setup from
#                    python3 on PATH: a stock Debian 12 refuses system-wide pip installs, PEP 668),
#                    which has the Python packages the build and the tests use
data_dir="${ATTEND_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/attend}"
project_venv="$data_dir/venv"
project_python="$project_venv/bin/python"
