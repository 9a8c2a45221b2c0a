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
//
// Keys: `cosign generate-key-pair` writes cosign.key (ENCRYPTED SIGSTORE
// PRIVATE KEY, give its password to LoadKey) and cosign.pub (for Verify).
// Without cosign, openssl makes an unencrypted PKCS#8 pair:
//
//	openssl ecparam -genkey -name prime256v1 -noout | openssl pkcs8 -topk8 -nocrypt -out goship.key
//	openssl ec -in goship.key -pubout -out goship.pub
//
// (`cosign import-key-pair --key goship.key` turns it into cosign's
// encrypted format.) A key's fingerprint is the SHA-256 of its public DER:
// `openssl pkey -pubin -in goship.pub -outform DER | sha256sum`.
//
// Evidence: the CycloneDX SBOM (cosign --type cyclonedx), the Trivy report
// in cosign's vuln predicate (--type vuln), and goship's gate statement
// (GatePredicateType): commit, CI run, goship version and the gate's
// outcome with its counts. Verify refuses a digest without a gate
// statement that says passed, unless told otherwise.
package sign
