/**
 * The sizes the state service refuses to go past, each with the Kubernetes figure it follows or the
 * reason the lab deviates (docs/security.md, "Limits").
 * @module
 */

/**
 * The largest request body, in bytes: kube-apiserver's `MaxRequestBodyBytes`, 3 MiB — twice etcd's
 * 1.5 MiB request limit, since JSON shrinks when stored as protobuf (k8s.io/apiserver server/config.go).
 */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;
