"""The chat app: `python app.py` builds the index if it is missing and serves the UI and the API.

Settings come from QA_* environment variables (QA_INDEX_DIR, QA_CORPUS_DIR, QA_HOST, QA_PORT, ...);
`--host` and `--port` work as with `qa serve`.
"""

import sys

from qa.server import main

if __name__ == "__main__":
    sys.exit(main())
