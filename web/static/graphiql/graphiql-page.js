// The service's GraphiQL page: sign-in with e-mail and password, a session renewed before it
// expires, and the token kept in this closure only (never a URL, a cookie or localStorage).
(function () {
  "use strict";

  const ENDPOINT = "/graphql";
  const WS_URL = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + ENDPOINT;
  const RENEW_BEFORE_MS = 60 * 1000;

  const SIGN_IN = `mutation SignIn($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    __typename
    ... on AuthSession { accessToken refreshToken expiresAt account { email } }
    ... on InvalidCredentials { message }
    ... on RateLimited { message }
  }
}`;
  const REFRESH = `mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) {
    __typename
    ... on AuthSession { accessToken refreshToken expiresAt account { email } }
    ... on InvalidRefreshToken { message }
  }
}`;
  const SIGN_OUT = `mutation SignOut($refreshToken: String!) {
  signOut(refreshToken: $refreshToken) { __typename }
}`;

  let session = null; // {accessToken, refreshToken, expiresAt, email}
  let renewTimer = null;
  let wsClient = null;

  const byId = (id) => document.getElementById(id);

  function say(text, problem) {
    const message = byId("session-message");
    message.textContent = text;
    message.className = problem ? "problem" : "";
  }

  async function call(query, variables) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
    return body.data;
  }

  // A new identity needs a new connection: the token is read once, in connection_init.
  function resetWebSocket() {
    if (wsClient) wsClient.dispose();
    wsClient = null;
  }

  function webSocket() {
    if (!wsClient) {
      wsClient = graphqlWs.createClient({
        url: WS_URL,
        lazy: true,
        connectionParams: () =>
          session ? { authorization: "Bearer " + session.accessToken } : {},
      });
    }
    return wsClient;
  }

  function show() {
    byId("sign-in-form").hidden = session !== null;
    byId("signed-in").hidden = session === null;
    byId("signed-in-email").textContent = session ? session.email : "";
  }

  function adopt(result) {
    session = {
      accessToken: result.accessToken,
      refreshToken: result.refreshToken,
      expiresAt: Date.parse(result.expiresAt),
      email: result.account.email,
    };
    clearTimeout(renewTimer);
    const wait = Math.max(5000, session.expiresAt - Date.now() - RENEW_BEFORE_MS);
    renewTimer = setTimeout(renew, wait);
    show();
  }

  function forget(text, problem) {
    session = null;
    clearTimeout(renewTimer);
    resetWebSocket();
    show();
    say(text, problem);
  }

  async function renew() {
    if (!session) return;
    try {
      const data = await call(REFRESH, { refreshToken: session.refreshToken });
      const result = data.refreshSession;
      if (result.__typename !== "AuthSession") return forget(result.message, true);
      adopt(result);
      say("Session renewed at " + new Date().toLocaleTimeString() + ".");
    } catch (error) {
      forget("Could not renew the session: " + error.message, true);
    }
  }

  byId("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = byId("sign-in-password");
    say("Signing in…");
    try {
      const data = await call(SIGN_IN, {
        email: byId("sign-in-email").value,
        password: password.value,
      });
      const result = data.signIn;
      if (result.__typename !== "AuthSession") return say(result.message, true);
      password.value = "";
      resetWebSocket();
      adopt(result);
      say("Signed in; the session renews itself.");
    } catch (error) {
      say("Sign-in failed: " + error.message, true);
    }
  });

  byId("sign-out-button").addEventListener("click", async () => {
    const refreshToken = session && session.refreshToken;
    forget("Signed out.");
    if (refreshToken) await call(SIGN_OUT, { refreshToken }).catch(() => undefined);
  });

  const fetcher = GraphiQL.createFetcher({
    url: ENDPOINT,
    enableIncrementalDelivery: false,
    fetch: (url, init) => {
      const headers = new Headers(init && init.headers);
      if (session && !headers.has("authorization")) {
        headers.set("authorization", "Bearer " + session.accessToken);
      }
      return fetch(url, { ...init, headers });
    },
    // Subscriptions (graphql-transport-ws, same path) through the current connection.
    wsClient: { subscribe: (payload, sink) => webSocket().subscribe(payload, sink) },
  });

  const root = ReactDOM.createRoot(byId("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    })
  );
  show();
})();
