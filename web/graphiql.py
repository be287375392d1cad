"""GraphiQL served by the service itself: the page and its vendored assets under /static
(no CDN, so it works on a closed network)."""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response

from web.pages import Page, page_headers

# Pinned by tools/vendor-browser-assets.sh; the version is in the path, so the files never
# change under a URL and may be cached for a year.
VENDOR = {
    "react": "vendor/react-18.3.1/react.production.min.js",
    "react_dom": "vendor/react-dom-18.3.1/react-dom.production.min.js",
    "graphql_ws": "vendor/graphql-ws-5.16.2/graphql-ws.min.js",
    "graphiql_js": "vendor/graphiql-3.9.0/graphiql.min.js",
    "graphiql_css": "vendor/graphiql-3.9.0/graphiql.min.css",
}
OWN = {"page_js": "graphiql/graphiql-page.js", "page_css": "graphiql/graphiql-page.css"}

# Only files from this origin: no inline script, no eval, and no inline styles either
# (GraphiQL 3, React and CodeMirror 5 set styles through the DOM, which CSP allows; the
# browser suite fails on any CSP violation while it uses the editors, docs and results).
# Fonts and icons are data: URLs inside GraphiQL's CSS.
PAGE_HEADERS = page_headers("font-src 'self' data:", "img-src 'self' data:")


PAGE = Page(
    title="GraphiQL · Immigration services API",
    body="""<header id="session-bar">
  <strong>Immigration services API</strong>
  <form id="sign-in-form" autocomplete="on">
    <label>E-mail <input id="sign-in-email" name="email" type="email" required
      autocomplete="username"></label>
    <label>Password <input id="sign-in-password" name="password" type="password" required
      autocomplete="current-password"></label>
    <button id="sign-in-button" type="submit">Sign in</button>
  </form>
  <span id="signed-in" hidden>Signed in as <b id="signed-in-email"></b>
    <button id="sign-out-button" type="button">Sign out</button></span>
  <span id="session-message" role="status"></span>
</header>
<main id="graphiql">Loading GraphiQL…</main>
""",
    headers=PAGE_HEADERS,
    stylesheets=("graphiql_css", "page_css"),
    scripts=("react", "react_dom", "graphql_ws", "graphiql_js", "page_js"),
    own=OWN,
    vendor=VENDOR,
)


def graphiql_page() -> Response:
    return HTMLResponse(PAGE.html(), headers=PAGE_HEADERS)
