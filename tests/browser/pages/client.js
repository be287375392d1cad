// What a front-end team writes: Apollo Client for queries and mutations over HTTP, a graphql-ws
// client (through Apollo's GraphQLWsLink) for subscriptions, the token in memory only.
// The browser test drives it through window.client and reads window.client.events.
(function () {
  "use strict";

  const api = new URLSearchParams(location.search).get("api");
  const wsUrl = api.replace(/^http/, "ws") + "/graphql";
  let accessToken = null;

  const log = (text) => {
    const item = document.createElement("li");
    item.textContent = text;
    document.getElementById("log").appendChild(item);
  };

  const httpLink = new Apollo.HttpLink({
    uri: api + "/graphql",
    fetch: (uri, init) => {
      const headers = new Headers(init.headers);
      if (accessToken) headers.set("authorization", "Bearer " + accessToken);
      return fetch(uri, { ...init, headers });
    },
  });
  const wsClient = graphqlWs.createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: () => (accessToken ? { authorization: "Bearer " + accessToken } : {}),
  });
  const link = Apollo.split(
    ({ query }) => {
      const definition = Apollo.getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new Apollo.GraphQLWsLink(wsClient),
    httpLink
  );
  const apollo = new Apollo.ApolloClient({
    link,
    cache: new Apollo.InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: "no-cache" }, mutate: { fetchPolicy: "no-cache" } },
  });

  const SIGN_IN = Apollo.gql`
    mutation SignIn($email: String!, $password: String!) {
      signIn(input: {email: $email, password: $password}) {
        __typename
        ... on AuthSession { accessToken account { email } }
        ... on InvalidCredentials { message }
        ... on RateLimited { message }
      }
    }`;
  const VIEWER = Apollo.gql`query Viewer { viewer { person { id } } }`;
  const NEAREST = Apollo.gql`
    query Nearest($near: GeoPointInput!, $service: ServiceCode!) {
      offices(first: 3, filter: {near: $near, service: $service}) {
        edges { distanceKm node { id code } }
      }
    }`;
  const SLOTS = Apollo.gql`
    query Slots($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
      availableSlots(officeId: $office, service: $service, from: $from, to: $to) {
        id startsAt remaining
      }
    }`;
  // The natural booking query: one selection for every member of the result union.
  const BOOK = Apollo.gql`
    mutation Book($input: BookAppointmentInput!) {
      bookAppointment(input: $input) {
        __typename
        ... on BookingConfirmed { appointment { id reference status } }
        ... on AlreadyBooked { message existing { id reference status } }
        ... on SlotUnavailable { message }
        ... on NotPermitted { message }
        ... on ValidationError { message }
        ... on RateLimited { message }
      }
    }`;
  const CANCEL = Apollo.gql`
    mutation Cancel($id: ID!) {
      cancelAppointment(id: $id) {
        __typename
        ... on AppointmentCancelled { appointment { id status } }
        ... on ChangeWindowClosed { message }
        ... on NotPermitted { message }
      }
    }`;
  const UPDATES = Apollo.gql`
    subscription Updates($id: ID!) {
      applicationUpdates(applicantId: $id) { status note application { number status } }
    }`;

  const events = [];
  const errors = [];

  async function signIn(email, password) {
    const { data } = await apollo.mutate({ mutation: SIGN_IN, variables: { email, password } });
    if (data.signIn.__typename !== "AuthSession") throw new Error(data.signIn.message);
    accessToken = data.signIn.accessToken;
    const viewer = await apollo.query({ query: VIEWER });
    log("signed in as " + data.signIn.account.email);
    return { email: data.signIn.account.email, personId: viewer.data.viewer.person.id };
  }

  async function nearestOffices(latitude, longitude, service) {
    const { data } = await apollo.query({
      query: NEAREST,
      variables: { near: { latitude, longitude }, service },
    });
    const offices = data.offices.edges.map((edge) => ({ ...edge.node, distanceKm: edge.distanceKm }));
    log("nearest: " + offices.map((o) => o.code).join(", "));
    return offices;
  }

  async function book(personId, officeId, service, from, to) {
    const slots = await apollo.query({
      query: SLOTS,
      variables: { office: officeId, service, from, to },
    });
    const slot = slots.data.availableSlots.find((s) => s.remaining > 0);
    if (!slot) throw new Error("no free slot");
    const { data } = await apollo.mutate({
      mutation: BOOK,
      variables: { input: { applicantId: personId, slotId: slot.id, service } },
    });
    const result = data.bookAppointment;
    log("booking: " + result.__typename);
    return { typename: result.__typename, appointment: result.appointment || null };
  }

  async function cancel(appointmentId) {
    const { data } = await apollo.mutate({ mutation: CANCEL, variables: { id: appointmentId } });
    log("cancel: " + data.cancelAppointment.__typename);
    return data.cancelAppointment;
  }

  function follow(personId) {
    apollo.subscribe({ query: UPDATES, variables: { id: personId } }).subscribe({
      next: (result) => {
        events.push(result.data.applicationUpdates);
        log("event: " + result.data.applicationUpdates.status);
      },
      error: (error) => errors.push(String(error && error.message ? error.message : error)),
    });
  }

  window.client = { signIn, nearestOffices, book, cancel, follow, events, errors };
  log("ready; API at " + api);
})();
