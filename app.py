"""The chat app: `python app.py` builds the index if it is missing and serves the UI and the API.

Settings come from QA_* environment variables (QA_INDEX_DIR, QA_CORPUS_DIR, QA_HOST, QA_PORT, ...);
`--host` and `--port` work as with `qa serve`.
"""

import sys

from qa.cli import main

if __name__ == "__main__":
    # The same as `qa serve`: the CLI turns configuration and index errors into one clear line.
    sys.exit(main(["serve", *sys.argv[1:]]))
