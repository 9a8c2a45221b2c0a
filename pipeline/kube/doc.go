// Package kube deploys an app to a Kubernetes cluster (ACK or any other):
// it connects with a kubeconfig, applies a generated Deployment and
// Service (or the user's own manifests, with the image pinned by digest)
// by server-side apply, gates the rollout with kstatus and a settle
// window, and rolls back to the previous release's recorded manifests
// when the gate fails. Releases are recorded in the cluster, one Secret
// per release, so releases, rollback and status work from any laptop; a
// Lease per app keeps two deploys from interleaving.
//
// It talks to the API server with client-go only; it never shells out to
// kubectl and needs no Dagger engine.
package kube
