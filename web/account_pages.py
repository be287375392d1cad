"""The pages the security mail links to when no front-end hosts them (ACCOUNT_LINK_BASE_URL
unset): /verify-email and /reset-password read the token from the link's `#token=` fragment
(which no server sees), take it out of the address bar, and call verifyEmail / resetPassword
through /graphql, in English or Chinese. Our own HTML, script and style; no external URL."""

from __future__ import annotations

from web.pages import Page, endpoint, page_headers

OWN = {
    "base_css": "pages/page-base.css",
    "page_js": "account/account-pages.js",
    "page_css": "account/account-pages.css",
}

# Only our own files, no device features; the token stays in the page (no referrer).
PAGE_HEADERS = {
    **page_headers(),
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# The English text is in the HTML; the script puts every `data-text` element in the chosen
# language (the switch, else the browser's languages).
LANGUAGE_SWITCH = """<nav class="languages" aria-label="Language · 语言">
  <button type="button" data-language="en" lang="en" aria-pressed="true">English</button>
  <button type="button" data-language="zh" lang="zh" aria-pressed="false">中文</button>
</nav>
<noscript><p>This page needs JavaScript. <span lang="zh">本页需要启用 JavaScript。</span></p>
</noscript>
"""

OUTCOME = """<section id="outcome" class="card" aria-live="polite" data-status="">
  <h2 id="outcome-heading"></h2>
  <p id="outcome-detail"></p>
  <p id="outcome-next"></p>
</section>
"""

VERIFY_EMAIL = Page(
    title="Confirm your e-mail address · 确认电子邮箱",
    body=f"""<main data-page="verify-email">
{LANGUAGE_SWITCH}<h1 data-text="verifyTitle">Confirm your e-mail address</h1>
{OUTCOME}<button id="retry-button" type="button" data-text="retry" hidden>Try again</button>
</main>
""",
    headers=PAGE_HEADERS,
    stylesheets=("base_css", "page_css"),
    scripts=("page_js",),
    own=OWN,
)

RESET_PASSWORD = Page(
    title="Choose a new password · 设置新密码",
    body=f"""<main data-page="reset-password">
{LANGUAGE_SWITCH}<h1 data-text="resetTitle">Choose a new password</h1>
<form id="reset-form" method="post" class="card" novalidate hidden>
  <p data-text="resetLead">Type the new password twice. Every other session of your account
  will be signed out.</p>
  <label for="new-password" data-text="newPassword">New password</label>
  <input id="new-password" name="new-password" type="password" autocomplete="new-password"
    required aria-describedby="form-problem">
  <label for="repeat-password" data-text="repeatPassword">The new password again</label>
  <input id="repeat-password" name="repeat-password" type="password"
    autocomplete="new-password" required aria-describedby="form-problem">
  <p id="form-problem" role="alert"></p>
  <button id="reset-button" type="submit" data-text="resetButton">Set the new password</button>
</form>
{OUTCOME}</main>
""",
    headers=PAGE_HEADERS,
    stylesheets=("base_css", "page_css"),
    scripts=("page_js",),
    own=OWN,
)

verify_email_page = endpoint(VERIFY_EMAIL)
reset_password_page = endpoint(RESET_PASSWORD)
