"""A logging filter that masks calendar feed secrets in request logs.

The feed's address carries its secret (/calendar/<token>.ics); the development server's access
log (logger django.server) and Django's log of 4xx/5xx answers (django.request) print paths.
Attached to both in settings.LOGGING. Imports nothing from the apps: logging is configured
before they are loaded.
"""

import logging
import re

# The last segment of any /calendar/ path: a feed address, however it is spelt (percent-encoded,
# misspelt, without .ics), is masked; /calendar/ and /calendar/feed/... have no such segment.
FEED_PATH = re.compile(r"(/calendar/)[^/\s?#\"']+(?=[\s?#\"']|$)")
MASK = r"\1…"


def redact(text: str) -> str:
    """The text with every feed address's secret replaced by an ellipsis."""
    return FEED_PATH.sub(MASK, text)


class RedactFeedTokens(logging.Filter):
    """Rewrites a record whose message names a feed address; keeps every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's business, not ours
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
            # The request object would carry the path on to handlers that print it (the
            # admins' error mail): a masked record goes without it.
            if hasattr(record, "request"):
                del record.request
        return True
