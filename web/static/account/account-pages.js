// /verify-email and /reset-password: the pages the security mail links to. The token comes in
// the link's fragment (#token=..., never sent to a server), is taken out of the address bar
// at once, and goes only to this origin's /graphql (verifyEmail, resetPassword), asked in the
// page's language so the service's messages come in it too.
"use strict";

(function () {
  const GRAPHQL_URL = "/graphql";
  const SAVED_LANGUAGE = "account.language";
  // The page's languages: the `lang` of the document and the Accept-Language sent.
  const LANGUAGE_TAGS = { en: "en", zh: "zh-CN" };
  const VERIFY_EMAIL = `mutation($token: String!) { verifyEmail(token: $token) { __typename
    ... on EmailVerified { account { email } }
    ... on InvalidToken { message code } } }`;
  const RESET_PASSWORD = `mutation($input: ResetPasswordInput!) {
    resetPassword(input: $input) { __typename
      ... on PasswordResetDone { message }
      ... on InvalidToken { message code }
      ... on ValidationError { message code field } } }`;

  const TEXTS = {
    en: {
      verifyTitle: "Confirm your e-mail address",
      resetTitle: "Choose a new password",
      resetLead:
        "Type the new password twice. Every other session of your account will be signed out.",
      newPassword: "New password",
      repeatPassword: "The new password again",
      resetButton: "Set the new password",
      retry: "Try again",
      working: "Confirming your address…",
      verified: "Your address is confirmed",
      verifiedDetail: (email) => `${email} is now confirmed for your account.`,
      verifiedNext: "There is nothing else to do: you may close this page.",
      incomplete: "This link is incomplete",
      incompleteDetail:
        "The link lacks its token (the part after #token=); some mail programs cut long links.",
      incompleteNextVerify:
        "Copy the whole link from the mail into the address bar, or sign in and ask for a new " +
        "confirmation mail.",
      incompleteNextReset:
        "Copy the whole link from the mail into the address bar, or ask for a new " +
        "password-reset link.",
      invalid: "This link cannot be used",
      invalidNextVerify:
        "Sign in and ask for a new confirmation mail, then open the newest link soon after " +
        "it arrives.",
      invalidNextReset:
        "Ask for a new password-reset link (“Forgot password”), then open the newest one soon " +
        "after it arrives.",
      done: "Your password is changed",
      doneNext: "Sign in with the new password.",
      unreachable: "The service did not answer",
      unreachableDetail: "Check your connection and try again in a moment.",
      refused: "This cannot be done just now",
      refusedNext: "Your link is still good: try again in a moment.",
      mismatch: "The two passwords differ: type the same new password twice.",
      empty: "Type the new password in both fields.",
    },
    zh: {
      verifyTitle: "确认电子邮箱地址",
      resetTitle: "设置新密码",
      resetLead: "请输入两次新密码。您账户的其他所有会话都将被登出。",
      newPassword: "新密码",
      repeatPassword: "再次输入新密码",
      resetButton: "设置新密码",
      retry: "重试",
      working: "正在确认您的邮箱地址…",
      verified: "您的邮箱地址已确认",
      verifiedDetail: (email) => `${email} 已确认为您账户的邮箱地址。`,
      verifiedNext: "无需其他操作，您可以关闭本页。",
      incomplete: "此链接不完整",
      incompleteDetail: "链接缺少令牌（#token= 之后的部分）；有些邮件程序会截断较长的链接。",
      incompleteNextVerify: "请将邮件中的完整链接复制到地址栏，或登录后重新申请确认邮件。",
      incompleteNextReset: "请将邮件中的完整链接复制到地址栏，或重新申请重置密码链接。",
      invalid: "此链接无法使用",
      invalidNextVerify: "请登录后重新申请确认邮件，收到后尽快打开最新的链接。",
      invalidNextReset: "请重新申请重置密码链接（“忘记密码”），收到后尽快打开最新的链接。",
      done: "您的密码已更改",
      doneNext: "请用新密码登录。",
      unreachable: "服务没有响应",
      unreachableDetail: "请检查网络连接，稍后重试。",
      refused: "暂时无法完成",
      refusedNext: "您的链接仍然有效，请稍后重试。",
      mismatch: "两次输入的密码不一致，请输入相同的新密码。",
      empty: "请在两个输入框中都输入新密码。",
    },
  };

  const $ = (id) => document.getElementById(id);
  const page = document.querySelector("main").dataset.page;
  let language = "en";
  // What the outcome and the form's problem say, kept so a language switch re-renders them.
  // A text is a key of TEXTS, a function of the language, or the service's own words.
  let outcome = null; // {status, heading, detail, next}
  let problem = null;

  const say = (text) => {
    if (text === null || text === undefined) return "";
    if (typeof text === "function") return text(TEXTS[language]);
    if (typeof text === "object") return text.said; // the service's message, as it came
    return TEXTS[language][text];
  };

  function render() {
    document.documentElement.lang = LANGUAGE_TAGS[language];
    for (const element of document.querySelectorAll("[data-text]")) {
      element.textContent = TEXTS[language][element.dataset.text];
    }
    document.title = TEXTS[language][page === "verify-email" ? "verifyTitle" : "resetTitle"];
    for (const button of document.querySelectorAll("[data-language]")) {
      button.setAttribute("aria-pressed", String(button.dataset.language === language));
    }
    const box = $("outcome");
    box.dataset.status = outcome ? outcome.status : "";
    $("outcome-heading").textContent = outcome ? say(outcome.heading) : "";
    $("outcome-detail").textContent = outcome ? say(outcome.detail) : "";
    $("outcome-next").textContent = outcome ? say(outcome.next) : "";
    if ($("form-problem")) $("form-problem").textContent = say(problem);
  }

  function show(status, heading, detail, next) {
    outcome = { status, heading, detail, next };
    render();
  }

  function chosenLanguage() {
    try {
      const saved = localStorage.getItem(SAVED_LANGUAGE);
      if (saved in TEXTS) return saved;
    } catch (e) {
      /* storage refused: the browser's languages decide */
    }
    for (const tag of navigator.languages || [navigator.language || ""]) {
      const primary = String(tag).toLowerCase().split("-")[0];
      if (primary in TEXTS) return primary;
    }
    return "en";
  }

  function switchTo(chosen) {
    language = chosen;
    try {
      localStorage.setItem(SAVED_LANGUAGE, chosen);
    } catch (e) {
      /* not kept: the switch still holds for this page */
    }
    render();
  }

  // The token of the link, taken out of the address bar (and so out of the history).
  function takeToken() {
    const hash = location.hash;
    if (hash) history.replaceState(null, "", location.pathname + location.search);
    return hash.startsWith("#token=") ? hash.slice("#token=".length).trim() : "";
  }

  // The one result of a mutation. Throws when the service gave none: `{said}` with the
  // service's own words when it answered with an error instead (a rate limit, a fault with
  // its reference), else an Error (no network, no JSON).
  async function call(query, variables) {
    const response = await fetch(GRAPHQL_URL, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "accept-language": LANGUAGE_TAGS[language],
      },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      /* not JSON: a proxy's page, say */
    }
    const result = body && body.data ? Object.values(body.data)[0] : null;
    if (result) return result;
    const error = body && Array.isArray(body.errors) ? body.errors[0] : null;
    if (error && typeof error.message === "string") throw { said: error.message };
    throw new Error(`HTTP ${response.status}`);
  }

  // ----------------------------------------------------------------------- /verify-email

  async function verifyEmail(token) {
    const retry = $("retry-button");
    retry.hidden = true;
    show("working", "working", null, null);
    let result;
    try {
      result = await call(VERIFY_EMAIL, { token });
    } catch (e) {
      if (e.said) show("refused", "refused", { said: e.said }, "refusedNext");
      else show("unreachable", "unreachable", "unreachableDetail", null);
      retry.hidden = false;
      retry.onclick = () => verifyEmail(token);
      return;
    }
    if (result.__typename === "EmailVerified") {
      const email = result.account.email;
      show("verified", "verified", (t) => t.verifiedDetail(email), "verifiedNext");
    } else {
      show("invalid", "invalid", { said: result.message }, "invalidNextVerify");
    }
  }

  // --------------------------------------------------------------------- /reset-password

  function markFields(invalid) {
    for (const id of ["new-password", "repeat-password"]) {
      $(id).setAttribute("aria-invalid", String(invalid));
    }
  }

  async function resetPassword(token, event) {
    event.preventDefault();
    const password = $("new-password").value;
    const repeated = $("repeat-password").value;
    problem = !password || !repeated ? "empty" : password !== repeated ? "mismatch" : null;
    markFields(problem !== null);
    render();
    if (problem) return;
    $("reset-button").disabled = true;
    let result;
    try {
      result = await call(RESET_PASSWORD, { input: { token, newPassword: password } });
    } catch (e) {
      problem = e.said ? { said: e.said } : (t) => `${t.unreachable}. ${t.unreachableDetail}`;
      render();
      return;
    } finally {
      $("reset-button").disabled = false;
    }
    if (result.__typename === "ValidationError") {
      // The token is still good: the same form, for another password.
      problem = { said: result.message };
      markFields(true);
      $("new-password").value = "";
      $("repeat-password").value = "";
      render();
      $("new-password").focus();
      return;
    }
    $("reset-form").hidden = true;
    $("new-password").value = "";
    $("repeat-password").value = "";
    problem = null;
    if (result.__typename === "PasswordResetDone") {
      show("done", "done", { said: result.message }, "doneNext");
    } else {
      show("invalid", "invalid", { said: result.message }, "invalidNextReset");
    }
  }

  // ------------------------------------------------------------------------------ wiring

  // The link's token, taken anew when a whole link is pasted into this page's address bar
  // (a change of fragment only: the page is not loaded again).
  let token = "";

  async function begin() {
    token = takeToken();
    outcome = null;
    problem = null;
    const reset = page === "reset-password";
    if (reset) $("reset-form").hidden = !token;
    else $("retry-button").hidden = true;
    render();
    if (!token) {
      const next = reset ? "incompleteNextReset" : "incompleteNextVerify";
      show("incomplete", "incomplete", "incompleteDetail", next);
    } else if (!reset) {
      await verifyEmail(token);
    }
  }

  async function start() {
    language = chosenLanguage();
    for (const button of document.querySelectorAll("[data-language]")) {
      button.addEventListener("click", () => switchTo(button.dataset.language));
    }
    if (page === "reset-password") {
      $("reset-form").addEventListener("submit", (event) => resetPassword(token, event));
    }
    window.addEventListener("hashchange", () => {
      if (location.hash) begin();
    });
    await begin();
    document.body.dataset.ready = "true";
  }

  start();
})();
