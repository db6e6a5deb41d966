"""Scrape GETs without requests' per-request cost, for the plain case: ``http``, no proxy, auth
none, ``basic_auth`` or ``authorization`` (docs/performance.md, "Scrape GETs without requests").

The request is the one the scrape's requests session prepares (its headers, credentials
resolved at each request), written on a keep-alive connection of this transport's own pools;
the answer is read strictly and within named limits. Everything else (https, proxies, OAuth 2.0,
SigV4, a redirect to follow) takes the requests path.

* ``head``: the response's status line and fields, interim responses skipped;
* ``body``: where the body ends (chunked, a length, the close) and its bytes;
* ``connections``: the idle connections kept, by host;
* ``transport``: one GET, its connection attached to the scrape's guard, sent again once on a
  kept connection the target had closed.
"""

from __future__ import annotations

from .transport import Answer, Failure, ScrapeTransport

__all__ = ["Answer", "Failure", "ScrapeTransport"]
