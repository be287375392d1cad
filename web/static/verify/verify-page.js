// The /verify page: checks a passport-information certificate (a compact JWS) or a presentation
// of some of its facts (an SD-JWT, RFC 9901) in the browser, with the authority's published
// keys (WebCrypto), then asks the service whether the certificate is revoked when it can (and
// shows it when the service does not recognise a token that verified here, e.g. with a pasted
// key the authority does not publish). The rules are those of signing/verification.py. Nothing leaves the page but the key-set
// fetch and the revocation question (both to this origin).
"use strict";

(function () {
  const JWKS_URL = "/.well-known/jwks.json";
  const GRAPHQL_URL = "/graphql";
  const SAVED_KEYS = "verify.jwks";
  const CERTIFICATE_TYPE = "passport-info+jwt";
  const DOCUMENT_KIND = "PASSPORT_INFORMATION";
  const PRESENTATION_TYPE = "dc+sd-jwt";
  const PRESENTATION_VCT = "passport-information";
  const MAX_TOKEN_LENGTH = 20000;
  const CLAIM_NAMES = {
    NAME: "name",
    BIRTH_DATE: "birthDate",
    NATIONALITY: "nationality",
    PR_CARD_NUMBER: "prCardNumber",
    PR_CARD_VALIDITY: "prCardValidity",
    CURRENT_PASSPORT: "currentPassport",
    PASSPORT_HISTORY: "passportHistory",
  };
  const ALL_CLAIMS = Object.keys(CLAIM_NAMES);
  const LABELS = {
    NAME: ["Name", "姓名"],
    BIRTH_DATE: ["Date of birth", "出生日期"],
    NATIONALITY: ["Nationality", "国籍"],
    PR_CARD_NUMBER: ["Permanent resident card number", "永久居留身份证号码"],
    PR_CARD_VALIDITY: ["Permanent resident card valid", "永久居留身份证有效期"],
    CURRENT_PASSPORT: ["Current passport", "现持护照"],
    PASSPORT_HISTORY: ["Earlier passports", "曾持护照"],
  };
  const VERIFY_QUERY =
    "query($token: String!) { verifyDocument(token: $token) { valid failure } }";

  const $ = (id) => document.getElementById(id);
  let keySet = null; // {keys: [...], source: "service" | "saved" | "pasted", at: ISO time}
  let scanning = null; // {stream, timer}
  // The number of the latest check: a check started since (a QR code read while the service
  // was still answering the one before) makes every later answer of an earlier check moot.
  let latestCheck = 0;

  // ------------------------------------------------------------------ base64url and JSON

  function b64urlBytes(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("base64url");
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function bytesB64url(bytes) {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Base64url with altered unused bits decodes to the same bytes: refused, as the server does.
  function canonical(text) {
    try {
      return bytesB64url(b64urlBytes(text)) === text;
    } catch (e) {
      return false;
    }
  }

  function b64urlJson(text) {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64urlBytes(text)));
  }

  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  // --------------------------------------------------------------------------- signatures

  const ALGORITHMS = {
    EdDSA: {
      importAs: (jwk) => [{ kty: "OKP", crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }],
      verifyAs: { name: "Ed25519" },
    },
    ES256: {
      importAs: (jwk) => [
        { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
        { name: "ECDSA", namedCurve: "P-256" },
      ],
      verifyAs: { name: "ECDSA", hash: "SHA-256" },
    },
  };

  // The browser cannot check this kind of signature at all: said as such, never as "altered".
  class Unsupported extends Error {}

  async function signatureHolds(jwt, jwk) {
    const algorithm = ALGORITHMS[jwk.alg];
    if (!algorithm) throw new Unsupported(`keys of algorithm ${jwk.alg} are not supported here`);
    if (!window.crypto || !crypto.subtle) {
      throw new Unsupported("WebCrypto is only available over HTTPS (or on localhost)");
    }
    const [keyData, importParams] = algorithm.importAs(jwk);
    let key;
    try {
      key = await crypto.subtle.importKey("jwk", keyData, importParams, false, ["verify"]);
    } catch (e) {
      throw new Unsupported(
        `this browser cannot check ${jwk.alg} signatures (${e.name}); please update it`
      );
    }
    const [header, payload, signature] = jwt.split(".");
    const signed = new TextEncoder().encode(`${header}.${payload}`);
    return crypto.subtle.verify(algorithm.verifyAs, key, b64urlBytes(signature), signed);
  }

  async function digestOf(disclosure) {
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(disclosure));
    return bytesB64url(new Uint8Array(hash));
  }

  // ------------------------------------------------------------------------- verification

  const failed = (failure, extra) => Object.assign({ valid: false, failure }, extra || {});

  // The claims of a compact JWS of type `typ` signed by a published key, or the failure.
  async function signedClaims(jwt, keys, typ) {
    const parts = jwt.split(".");
    if (parts.length !== 3 || parts.some((p) => !p)) return failed("MALFORMED");
    let header;
    try {
      header = b64urlJson(parts[0]);
    } catch (e) {
      return failed("MALFORMED");
    }
    if (!isObject(header) || header.typ !== typ || typeof header.kid !== "string") {
      return failed("MALFORMED");
    }
    const kid = header.kid;
    const jwk = keys.find((k) => k.kid === kid);
    if (!jwk) return failed("UNKNOWN_KEY", { keyId: kid });
    if (!parts.every(canonical) || header.alg !== jwk.alg) {
      return failed("BAD_SIGNATURE", { keyId: kid });
    }
    let holds = false;
    try {
      holds = await signatureHolds(jwt, jwk);
    } catch (e) {
      if (e instanceof Unsupported) throw e;
      holds = false; // e.g. a signature of the wrong length
    }
    if (!holds) return failed("BAD_SIGNATURE", { keyId: kid });
    let claims;
    try {
      claims = b64urlJson(parts[1]);
    } catch (e) {
      return failed("MALFORMED", { keyId: kid });
    }
    if (!isObject(claims)) return failed("MALFORMED", { keyId: kid });
    return { kid, claims };
  }

  function timed(kid, claims, now, disclosed, presentation) {
    const { iat, exp, jti } = claims;
    if (!Number.isInteger(iat) || !Number.isInteger(exp) || typeof jti !== "string") {
      return failed("MALFORMED", { keyId: kid });
    }
    const result = {
      keyId: kid,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
      claims,
      disclosed,
      presentation,
    };
    if (exp * 1000 <= now) return Object.assign(result, { valid: false, failure: "EXPIRED" });
    return Object.assign(result, { valid: true, failure: null });
  }

  // Undisclosed parts other issuers leave in (decoys): `_sd` lists, {"...": digest} elements.
  function withoutDigests(value) {
    if (Array.isArray(value)) {
      return value
        .filter((v) => !(isObject(v) && Object.keys(v).length === 1 && "..." in v))
        .map(withoutDigests);
    }
    if (isObject(value)) {
      const copy = {};
      for (const [k, v] of Object.entries(value)) if (k !== "_sd") copy[k] = withoutDigests(v);
      return copy;
    }
    return value;
  }

  async function verifyPresentation(token, keys, now) {
    const pieces = token.split("~");
    const jwt = pieces[0];
    const keyBinding = pieces[pieces.length - 1];
    const disclosures = pieces.slice(1, -1);
    if (keyBinding || disclosures.some((d) => !d) || disclosures.length > ALL_CLAIMS.length) {
      return failed("MALFORMED");
    }
    const checked = await signedClaims(jwt, keys, PRESENTATION_TYPE);
    if (checked.failure) return checked;
    const { kid, claims: payload } = checked;
    const digests = payload._sd;
    if (
      payload.vct !== PRESENTATION_VCT ||
      payload._sd_alg !== "sha-256" ||
      !Array.isArray(digests) ||
      !digests.every((d) => typeof d === "string")
    ) {
      return failed("MALFORMED", { keyId: kid });
    }
    const claims = {};
    for (const [name, value] of Object.entries(payload)) {
      if (name !== "_sd" && name !== "_sd_alg") claims[name] = withoutDigests(value);
    }
    const signed = new Set(digests);
    const byName = Object.fromEntries(Object.entries(CLAIM_NAMES).map(([c, n]) => [n, c]));
    const disclosed = [];
    for (const disclosure of disclosures) {
      if (!canonical(disclosure) || !signed.has(await digestOf(disclosure))) {
        return failed("BAD_SIGNATURE", { keyId: kid });
      }
      let decoded;
      try {
        decoded = b64urlJson(disclosure);
      } catch (e) {
        return failed("MALFORMED", { keyId: kid });
      }
      if (!Array.isArray(decoded) || decoded.length !== 3) return failed("MALFORMED", { keyId: kid });
      const [salt, name, value] = decoded;
      const claim = typeof name === "string" ? byName[name] : undefined;
      if (typeof salt !== "string" || !claim || disclosed.includes(claim) || name in claims) {
        return failed("MALFORMED", { keyId: kid });
      }
      claims[name] = withoutDigests(value);
      disclosed.push(claim);
    }
    disclosed.sort((a, b) => ALL_CLAIMS.indexOf(a) - ALL_CLAIMS.indexOf(b));
    return timed(kid, claims, now, disclosed, true);
  }

  async function verifyToken(token, keys, now) {
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return failed("MALFORMED");
    if (token.includes("~")) return verifyPresentation(token, keys, now);
    const checked = await signedClaims(token, keys, CERTIFICATE_TYPE);
    if (checked.failure) return checked;
    if (checked.claims.doc !== DOCUMENT_KIND) return failed("MALFORMED", { keyId: checked.kid });
    return timed(checked.kid, checked.claims, now, ALL_CLAIMS.slice(), false);
  }

  // What a full certificate says, in the shape of a presentation's claims.
  function factsOf(result) {
    const c = result.claims;
    if (result.presentation) return c;
    const card = c.prCard || {};
    const passports = Array.isArray(c.passports) ? c.passports : [];
    const current = passports.find((p) => p && p.current);
    return {
      name: c.name,
      birthDate: c.birthDate,
      nationality: c.nationality,
      prCardNumber: card.number,
      prCardValidity: { issuedOn: card.issuedOn, validUntil: card.validUntil },
      currentPassport: current || null,
      passportHistory: {
        passports: passports.filter((p) => p && !p.current),
        earlierNotListed: c.earlierPassportsNotListed || 0,
      },
    };
  }

  // -------------------------------------------------------------------------------- keys

  function describeKeys() {
    const status = $("keys-status");
    const saved = localStorage.getItem(SAVED_KEYS);
    $("save-keys-button").disabled = !keySet;
    $("forget-keys-button").disabled = !saved;
    if (!keySet) {
      status.textContent =
        "No keys: connect to the service once, or paste its JWK Set below. " +
        "无公钥：请联网一次或粘贴公钥集。";
      status.dataset.state = "none";
      return;
    }
    const n = keySet.keys.length;
    const from = {
      service: "fetched from the service",
      saved: "saved on this device",
      pasted: "pasted",
    }[keySet.source];
    status.textContent = `${n} published key${n === 1 ? "" : "s"}, ${from} (${new Date(
      keySet.at
    ).toLocaleString()}).${saved ? " A copy is saved for offline use." : ""}`;
    status.dataset.state = keySet.source;
  }

  function usableKeys(data) {
    if (!isObject(data) || !Array.isArray(data.keys)) throw new Error("not a JWK Set");
    const keys = data.keys.filter((k) => isObject(k) && typeof k.kid === "string" && k.alg);
    if (!keys.length) throw new Error("the JWK Set holds no signing key");
    return keys;
  }

  async function fetchKeys() {
    const response = await fetch(JWKS_URL, { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    keySet = { keys: usableKeys(await response.json()), source: "service", at: Date.now() };
    if (localStorage.getItem(SAVED_KEYS)) saveKeys(); // keep the saved copy current
    return keySet;
  }

  function savedKeys() {
    try {
      const saved = JSON.parse(localStorage.getItem(SAVED_KEYS) || "null");
      if (!saved) return null;
      return { keys: usableKeys(saved), source: "saved", at: saved.savedAt || Date.now() };
    } catch (e) {
      return null;
    }
  }

  function saveKeys() {
    if (!keySet) return;
    const copy = { keys: keySet.keys, savedAt: Date.now() };
    localStorage.setItem(SAVED_KEYS, JSON.stringify(copy));
    describeKeys();
  }

  async function loadKeys() {
    try {
      await fetchKeys();
    } catch (e) {
      keySet = savedKeys();
    }
    describeKeys();
  }

  // ---------------------------------------------------------------------------- revocation

  // Failures by which the service refuses the document itself (rather than its state).
  const UNRECOGNISED = ["MALFORMED", "BAD_SIGNATURE", "UNKNOWN_KEY"];

  // What the service says of the token: {state, failure}, state "not-revoked", "revoked",
  // "unrecognised" (the service refuses the document or its key although it verified here,
  // with keys pasted or saved that the authority does not publish: never "not revoked") or
  // "unknown" (offline, or the service did not answer). "not-revoked" keeps the service's
  // failure: EXPIRED (the service answers REVOKED over it) is the service's verdict that the
  // token expired, which stands over this device's clock (see show).
  async function serviceAnswerOf(token) {
    const unknown = { state: "unknown", failure: null };
    try {
      const response = await fetch(GRAPHQL_URL, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: VERIFY_QUERY, variables: { token } }),
        credentials: "omit",
      });
      if (!response.ok) return unknown;
      const body = await response.json();
      const answer = body && body.data && body.data.verifyDocument;
      if (!answer) return unknown;
      if (answer.failure === "REVOKED") return { state: "revoked", failure: answer.failure };
      if (UNRECOGNISED.includes(answer.failure)) {
        return { state: "unrecognised", failure: answer.failure };
      }
      if (answer.valid || answer.failure === "EXPIRED") {
        return { state: "not-revoked", failure: answer.failure };
      }
      return unknown;
    } catch (e) {
      return unknown;
    }
  }

  // ------------------------------------------------------------------------------- display

  function text(tag, content, attributes) {
    const element = document.createElement(tag);
    element.textContent = content;
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
    return element;
  }

  function passportText(p) {
    if (!isObject(p)) return "—";
    const bound = p.boundUntil ? `, bound ${p.boundFrom} – ${p.boundUntil}` : p.boundFrom ? `, bound since ${p.boundFrom}` : "";
    return `${p.number} (${p.issuingCountry}), valid until ${p.validUntil}${bound}`;
  }

  // The earlier passports a document lists, the latest first, and how many still earlier
  // ones it leaves out (the list is then not the whole history: said as such).
  function historyText(value) {
    const listed = Array.isArray(value) ? value : isObject(value) ? value.passports : null;
    const notListed = isObject(value) && Number.isInteger(value.earlierNotListed) ? value.earlierNotListed : 0;
    const parts = Array.isArray(listed) && listed.length ? [listed.map(passportText).join("; ")] : [];
    if (notListed > 0) {
      parts.push(
        `${notListed} earlier passport${notListed === 1 ? "" : "s"} not listed 另有${notListed}本更早的护照未列出`
      );
    }
    return parts.length ? parts.join("; ") : "none";
  }

  function factText(claim, value) {
    if (value === null || value === undefined) return "—";
    switch (claim) {
      case "NAME":
        return `${value.surname || ""}, ${value.givenNames || ""}`;
      case "PR_CARD_VALIDITY":
        return `${value.issuedOn} – ${value.validUntil}`;
      case "CURRENT_PASSPORT":
        return passportText(value);
      case "PASSPORT_HISTORY":
        return historyText(value);
      default:
        return String(value);
    }
  }

  const STATUS = {
    valid: ["Valid", "有效"],
    expired: ["Expired", "已过期"],
    revoked: ["Revoked", "已撤销"],
    invalid: ["Not valid", "无效"],
    unrecognised: ["Not recognised by the service", "服务端不认可"],
  };
  const FAILURE_DETAIL = {
    MALFORMED: "This is not a certificate or presentation of this authority.",
    BAD_SIGNATURE: "The signature does not match: the document was altered or forged.",
    UNKNOWN_KEY: "It names a key the authority does not publish (or keys not loaded here).",
  };
  // The token verified with the keys loaded here, but the service refused it: [EN, ZH].
  const DISAGREEMENT = {
    UNKNOWN_KEY: (kid) => [
      `It verifies with the keys loaded here, but the service does not publish key ${kid}: ` +
        "it is not a document of this authority.",
      `签名与此处载入的公钥相符，但服务端未公布密钥 ${kid}：这不是本主管机关签发的文件。`,
    ],
    BAD_SIGNATURE: (kid) => [
      "It verifies with the keys loaded here, but its signature does not match the key the " +
        `service publishes as ${kid}: it is not a document of this authority.`,
      `签名与此处载入的公钥相符，但与服务端以 ${kid} 公布的公钥不符：这不是本主管机关签发的文件。`,
    ],
    MALFORMED: () => [
      "It verifies with the keys loaded here, but the service does not take it as a " +
        "certificate or presentation of this authority.",
      "签名与此处载入的公钥相符，但服务端不认为这是本主管机关的证明或出示凭证。",
    ],
  };

  // The service says the token expired, though not by this device's clock (running behind):
  // [EN, ZH].
  const EXPIRED_BY_SERVICE = (expiresAt) => [
    `The service says it has expired: it expired on ${expiresAt}. ` +
      "This device's clock may be wrong.",
    `服务端核验：已于 ${expiresAt} 过期。本设备的时钟可能不准。`,
  ];

  function show(result, service) {
    const revocation = service.state;
    const section = $("result");
    section.hidden = false;
    // The service's EXPIRED wins over this device's clock: never "valid" when it says so.
    const expiredByService = revocation === "not-revoked" && service.failure === "EXPIRED";
    let state = "invalid";
    if (result.claims && revocation === "unrecognised") state = "unrecognised";
    else if (result.valid && revocation === "revoked") state = "revoked";
    else if (result.valid) state = expiredByService ? "expired" : "valid";
    else if (result.failure === "EXPIRED") state = revocation === "revoked" ? "revoked" : "expired";
    section.dataset.status = state;
    section.dataset.kind = result.presentation ? "presentation" : result.claims ? "certificate" : "";
    const [en, zh] = STATUS[state];
    $("result-status").replaceChildren(text("span", en), text("span", ` ${zh}`, { lang: "zh" }));

    let detail = "";
    if (state === "valid") {
      detail = result.presentation
        ? "A presentation signed by the authority: it shows only the facts below."
        : "A certificate signed by the authority, with all its facts.";
    } else if (state === "expired") {
      detail = `It expired on ${result.expiresAt.toLocaleString()}.`;
    } else if (state === "revoked") {
      detail = "The authority has revoked this certificate.";
    } else if (state !== "unrecognised") {
      detail = FAILURE_DETAIL[result.failure] || "It does not verify.";
    }
    const bilingual =
      state === "unrecognised"
        ? DISAGREEMENT[service.failure](result.keyId)
        : state === "expired" && result.valid
          ? EXPIRED_BY_SERVICE(result.expiresAt.toLocaleString())
          : null;
    if (bilingual) {
      const [detailEn, detailZh] = bilingual;
      $("result-detail").replaceChildren(
        text("span", detailEn),
        text("span", ` ${detailZh}`, { lang: "zh" })
      );
    } else {
      $("result-detail").textContent = detail;
    }

    const revocationLine = $("revocation");
    revocationLine.dataset.state = result.claims ? revocation : "";
    revocationLine.textContent = !result.claims
      ? ""
      : revocation === "unknown"
        ? "Revocation could not be checked (offline): ask the service when connected. 未能核查是否撤销（离线）。"
        : revocation === "revoked"
          ? "Revoked by the authority. 已被撤销。"
          : revocation === "unrecognised"
            ? "Revocation not checked: the service does not recognise this document or its key. " +
              "服务端不认可此文件或其密钥，未核查是否撤销。"
            : "Not revoked (checked with the service just now). 未撤销。";

    const facts = $("facts");
    facts.replaceChildren();
    if (result.claims) {
      const values = factsOf(result);
      for (const claim of ALL_CLAIMS) {
        if (!result.disclosed.includes(claim)) continue;
        const [label, labelZh] = LABELS[claim];
        const term = text("dt", label);
        term.append(text("span", ` ${labelZh}`, { lang: "zh" }));
        facts.append(term, text("dd", factText(claim, values[CLAIM_NAMES[claim]]), { "data-claim": claim }));
      }
      const hidden = ALL_CLAIMS.filter((c) => !result.disclosed.includes(c));
      if (hidden.length) {
        facts.append(
          text("dt", "Not disclosed"),
          text("dd", hidden.map((c) => LABELS[c][0]).join(", "), { id: "undisclosed" })
        );
      }
    }
    section.scrollIntoView({ block: "nearest" });
    $("result-meta").textContent = result.keyId
      ? `Key ${result.keyId}` +
        (result.issuedAt ? ` · signed ${result.issuedAt.toLocaleString()}` : "") +
        (result.expiresAt ? ` · expires ${result.expiresAt.toLocaleString()}` : "")
      : "";
  }

  // ---------------------------------------------------------------------------- the check

  function tokenFrom(input) {
    const trimmed = input.trim();
    const at = trimmed.indexOf("#token=");
    return at >= 0 ? trimmed.slice(at + "#token=".length) : trimmed;
  }

  // A check can start while another still waits (scanned() calls it with Verify disabled):
  // each has a number, and only the latest one's answers are shown; an earlier one's verdict
  // (of a token no longer in the input) is dropped whenever it arrives.
  async function check() {
    const mine = ++latestCheck;
    const superseded = () => mine !== latestCheck;
    const token = tokenFrom($("token-input").value);
    // The verdict of the token checked before goes at once: it must never stand, even for
    // the moment the service takes to answer, as if it were this token's.
    $("result").hidden = true;
    delete $("result").dataset.status;
    if (!token) {
      $("verify-button").disabled = false;
      return;
    }
    $("verify-button").disabled = true;
    try {
      if (!keySet) await loadKeys();
      if (superseded()) return;
      if (!keySet) {
        $("result").hidden = false;
        $("result").dataset.status = "no-keys";
        $("result-status").textContent = "No keys to check with";
        $("result-detail").textContent = "Connect once, or paste the JWK Set under Keys.";
        $("revocation").textContent = "";
        $("facts").replaceChildren();
        $("result-meta").textContent = "";
        return;
      }
      let result = await verifyToken(token, keySet.keys, Date.now());
      if (result.failure === "UNKNOWN_KEY" && keySet.source !== "pasted") {
        // A key published since the set was loaded (a rotation): fetch once more, if online.
        try {
          await fetchKeys();
          describeKeys();
          result = await verifyToken(token, keySet.keys, Date.now());
        } catch (e) {
          /* offline: the answer stands */
        }
      }
      const service = result.claims
        ? await serviceAnswerOf(token)
        : { state: "unknown", failure: null };
      if (superseded()) return;
      show(result, service);
    } catch (e) {
      if (superseded()) return;
      $("result").hidden = false;
      $("result").dataset.status = "error";
      $("result-status").textContent = "Cannot check here";
      $("result-detail").textContent = `This browser cannot check it: ${e.message}`;
    } finally {
      if (!superseded()) $("verify-button").disabled = false;
    }
  }

  // ------------------------------------------------------------------------------ QR codes

  async function decodeFrame(source, width, height) {
    if ("BarcodeDetector" in window) {
      try {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        const found = await detector.detect(source);
        if (found.length) return found[0].rawValue;
        return null;
      } catch (e) {
        /* not supported for this source or platform: jsQR below */
      }
    }
    if (typeof window.jsQR !== "function") return null;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.fillStyle = "#fff";
    context.fillRect(0, 0, width, height);
    context.drawImage(source, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height);
    const code = window.jsQR(pixels.data, width, height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  }

  function scanned(payload) {
    stopScanning();
    $("token-input").value = tokenFrom(payload);
    $("scan-message").textContent = "QR code read.";
    check();
  }

  async function startScanning() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("scan-message").textContent =
        "This browser gives no camera here (it needs HTTPS): read a photo instead.";
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
      const video = $("camera");
      video.srcObject = stream;
      await video.play();
      $("scanner").hidden = false;
      $("scan-message").textContent = "Point the camera at the QR code.";
      scanning = { stream, timer: null };
      const tick = async () => {
        if (!scanning) return;
        if (video.videoWidth) {
          const payload = await decodeFrame(video, video.videoWidth, video.videoHeight);
          if (payload) return scanned(payload);
        }
        scanning.timer = setTimeout(tick, 200);
      };
      tick();
    } catch (e) {
      $("scan-message").textContent = `No camera: ${e.message}`;
    }
  }

  function stopScanning() {
    if (!scanning) return;
    clearTimeout(scanning.timer);
    for (const track of scanning.stream.getTracks()) track.stop();
    scanning = null;
    $("scanner").hidden = true;
  }

  async function readPhoto(file) {
    try {
      const bitmap = await createImageBitmap(file);
      // Large photos are scaled down: a QR code needs no more than ~1000 px to be read.
      const scale = Math.min(1, 1200 / Math.max(bitmap.width, bitmap.height));
      const width = Math.round(bitmap.width * scale);
      const height = Math.round(bitmap.height * scale);
      const payload = await decodeFrame(bitmap, width, height);
      if (payload) return scanned(payload);
      $("scan-message").textContent = "No QR code found in that picture.";
    } catch (e) {
      $("scan-message").textContent = `Cannot read that picture: ${e.message}`;
    }
  }

  // ------------------------------------------------------------------------------- wiring

  function usePasted() {
    try {
      keySet = { keys: usableKeys(JSON.parse($("jwks-input").value)), source: "pasted", at: Date.now() };
      describeKeys();
    } catch (e) {
      $("keys-status").textContent = `Not a usable JWK Set: ${e.message}`;
    }
  }

  async function start() {
    $("verify-button").addEventListener("click", check);
    $("scan-button").addEventListener("click", startScanning);
    $("stop-scan-button").addEventListener("click", stopScanning);
    $("qr-file").addEventListener("change", (event) => {
      const file = event.target.files && event.target.files[0];
      if (file) readPhoto(file);
    });
    $("save-keys-button").addEventListener("click", saveKeys);
    $("forget-keys-button").addEventListener("click", () => {
      localStorage.removeItem(SAVED_KEYS);
      describeKeys();
    });
    $("use-jwks-button").addEventListener("click", usePasted);
    await loadKeys();
    // A QR code's link: /verify#token=<token>. The fragment never reached the server; it is
    // taken out of the address bar (and history) once read.
    const fromLink = tokenFrom(location.hash.startsWith("#token=") ? location.hash : "");
    if (fromLink) {
      history.replaceState(null, "", location.pathname + location.search);
      $("token-input").value = fromLink;
      await check();
    }
    document.body.dataset.ready = "true";
  }

  start();
})();
