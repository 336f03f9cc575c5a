/// The version `optimize` and `optimize-job` report; part of the job's idempotency hash and the GLB generator string.
public let optimizeVersion = "0.1.0"
