"""The /verify page: checks a certificate or a presentation in the browser with the published
keys (WebCrypto), from a pasted token, a QR code the camera sees, or the `#token=` of a QR
code's link. Our own HTML, script and style; jsQR vendored for browsers without a
BarcodeDetector; no external URL, so it works on a closed network and, once loaded with a
saved JWK Set, offline."""

from __future__ import annotations

from web.pages import Page, endpoint, page_headers

VENDOR = {"jsqr": "vendor/jsqr-1.4.0/jsQR.js"}
OWN = {
    "base_css": "pages/page-base.css",
    "page_js": "verify/verify-page.js",
    "page_css": "verify/verify-page.css",
}

# Only our own files; the camera for this page alone. The token stays in the page: no
# referrer, and a link's fragment never reaches a server.
PAGE_HEADERS = {
    **page_headers("img-src 'self' data: blob:", "media-src 'self' blob: mediastream:"),
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


PAGE = Page(
    title="Verify a certificate · 核验证明",
    body="""<main>
<h1>Verify a passport-information certificate <span lang="zh">核验护照信息证明</span></h1>
<p class="lead">Paste a certificate or a presentation, or scan its QR code. The signature is
checked here, in your browser, with the authority's published keys.
<span lang="zh">签名在本浏览器中用主管机关公布的公钥核验。</span></p>

<section id="input-section" class="card" aria-labelledby="input-heading">
  <h2 id="input-heading">Token <span lang="zh">凭证</span></h2>
  <textarea id="token-input" rows="5" spellcheck="false" autocomplete="off"
    placeholder="eyJ… or https://…/verify#token=eyJ…"></textarea>
  <div class="buttons">
    <button id="verify-button" type="button">Verify <span lang="zh">核验</span></button>
    <button id="scan-button" type="button">Scan QR code <span lang="zh">扫码</span></button>
    <label class="file-button">Read a photo of a QR code
      <input id="qr-file" type="file" accept="image/*"></label>
  </div>
  <div id="scanner" hidden>
    <video id="camera" playsinline muted></video>
    <button id="stop-scan-button" type="button">Stop scanning</button>
  </div>
  <p id="scan-message" role="status"></p>
</section>

<section id="result" class="card" aria-live="polite" hidden>
  <h2 id="result-status"></h2>
  <p id="result-detail"></p>
  <p id="revocation"></p>
  <dl id="facts"></dl>
  <p id="result-meta"></p>
</section>

<section id="keys-section" class="card" aria-labelledby="keys-heading">
  <h2 id="keys-heading">Keys <span lang="zh">公钥</span></h2>
  <p id="keys-status" role="status">Loading the published keys…</p>
  <div class="buttons">
    <button id="save-keys-button" type="button" disabled>Save keys on this device
      (for offline use)</button>
    <button id="forget-keys-button" type="button">Forget saved keys</button>
  </div>
  <details>
    <summary>Use a JWK Set you have (paste it)</summary>
    <textarea id="jwks-input" rows="4" spellcheck="false"
      placeholder='{"keys": [...]}'></textarea>
    <button id="use-jwks-button" type="button">Use these keys</button>
  </details>
</section>
</main>
""",
    headers=PAGE_HEADERS,
    stylesheets=("base_css", "page_css"),
    scripts=("jsqr", "page_js"),
    own=OWN,
    vendor=VENDOR,
)

verify_page = endpoint(PAGE)
