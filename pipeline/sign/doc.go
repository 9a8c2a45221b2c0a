// Package sign signs a pushed image digest once ci passed for it, attests
// that ci's evidence, and verifies both before a deploy, in the formats
// cosign v2 and v3 and sigstore's policy-controller read.
//
// Sign is the gate: it refuses (*GateError) unless lint, test, and the
// build and scan of every platform of the image passed in the run whose
// Evidence it is given. It then signs, with sigstore-go, one Sigstore
// bundle (DSSE envelope, in-toto v1 statement from in-toto's Go bindings)
// per statement:
//
//   - the image signature, cosign v3's https://sigstore.dev/cosign/sign/v1;
//   - SLSA provenance v1: source, ref, builder, Go toolchain, base and tool
//     images by digest, the modules of go.sum, and every ci step's outcome;
//   - per platform, the CycloneDX SBOM (decoded and checked with
//     cyclonedx-go) and the Trivy report in cosign's vuln predicate.
//
// Storage: each bundle is an OCI 1.1 referrer of the image, listed by the
// registry's referrers API, or by the referrers tag sha256-<hex> where the
// registry has none. A registry that refuses OCI 1.1 artifact manifests
// (ACR Personal Edition answers DENIED) gets cosign v2's tags
// sha256-<hex>.sig and .att instead. Verify reads all three.
//
// Everything is key-based and offline: no Rekor, no Fulcio, no timestamp
// authority. Keys: `cosign generate-key-pair` writes cosign.key (give its
// password to LoadKey) and cosign.pub (ParsePublicKey). Without cosign,
// openssl makes an unencrypted PKCS#8 pair:
//
//	openssl ecparam -genkey -name prime256v1 -noout | openssl pkcs8 -topk8 -nocrypt -out goship.key
//	openssl ec -in goship.key -pubout -out goship.pub
//
// A key's fingerprint is the SHA-256 of its public DER:
// `openssl pkey -pubin -in goship.pub -outform DER | sha256sum`.
package sign
