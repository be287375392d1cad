// The graphql-http project's audit of the GraphQL-over-HTTP specification, against a running
// server: `npm install graphql-http graphql && node tools/graphql-http-audit.mjs [URL]`.
import { auditServer } from 'graphql-http';
const url = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const results = await auditServer({ url });
let warn = 0, err = 0;
for (const r of results) {
  if (r.status === 'ok') continue;
  if (r.status === 'warn') warn++; else err++;
  console.log(r.status.toUpperCase(), r.id, r.name, '-', r.reason);
}
console.log(`total ${results.length}, warnings ${warn}, errors ${err}`);
process.exit(warn + err === 0 ? 0 : 1);
