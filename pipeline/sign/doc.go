// Package sign signs a pushed image digest and attaches evidence to it in
// the formats cosign reads, and verifies both before a deploy.
//
// Everything is key-based and offline: no Rekor, no Fulcio. Signatures are
// cosign's simple-signing payloads, stored as layers of the image tagged
// sha256-<hex>.sig next to the image; attestations are in-toto statements
// in DSSE envelopes, stored under sha256-<hex>.att. Both tags work on every
// registry, including ACR Personal Edition, which refuses OCI 1.1
// referrers. So `cosign verify --key` and `cosign verify-attestation --key`
// accept what this package writes, and Verify accepts what cosign writes
// with an ECDSA key.
package sign
