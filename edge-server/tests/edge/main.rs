//! Integration tests of the edge. Each test starts the real `footprint-edge` binary on
//! 127.0.0.1:0 with its own temporary data directory (see `util`), except `inproc`, which builds
//! the same app in-process to swap in a failing sink.

mod lab;
mod util;

// The ingest contract: valid, mixed, duplicate and text/plain batches, and time correction.
mod ingest;
// Every error status and its JSON body; hostile input.
mod admin;
// Roles, confidentiality, edits, history, invalidation, explicit merges.
mod admin_ops;
mod cors;
// Counting before saving: the preview, segment sizes, counts under filters, the rule builder.
mod builder;
// Cluster mode's write path: the log sink, a 3-node NATS cluster, two projectors.
mod cluster;
// `footprint-edge clv fit` against the published CDNOW parameters.
mod clv;
// The same with processes: 3 NATS nodes, 2 edges, 2 projectors, four faults under load.
mod cluster_faults;
// Identity rules, contact sheets, activity, lookups; the maintained-equals-recomputed property.
mod console;
mod contacts;
// The contact counters against the list.
mod counts;
mod errors;
// Erasure and suppression, compaction, bulk actions, the personal-data extract.
mod gdpr;
// What a hostile client did: compressed bodies, endless bodies, forged X-Forwarded-For,
// guessed tokens, missing headers.
mod hardening;
// CSV import: good, bad and duplicate rows, the command line, 100,000 rows.
mod import;
// kill -9 under load, graceful shutdown, bad config, dev defaults.
mod inproc;
mod lifecycle;
// Tags, the shop's reference and notes.
mod profile;
// Orders and refunds.
mod orders;
// The shop's servers as a source: the server key, addressed contacts, delivery events.
mod server;
// Lead scoring: rules, decay, adjustments, the points order.
mod points;
// Predicted CLV: the background fit, the sheet's numbers and reasons, the rule fields.
mod predicted;
// Every write a command: a recorded command sequence replays to byte-identical records.
mod replay;
// The script-tag files: caching, validators, CORS.
mod sdk;
// Static and dynamic segments, the list's segment filter, membership on the sheet.
mod segments;
