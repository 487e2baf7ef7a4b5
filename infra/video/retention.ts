// How long the video queues keep a message (pure numbers: the config validation and the queues share them).

/** The dead-letter queue keeps a failed job 14 days (SQS's maximum), counted from the original upload's enqueue. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;
/** The job queue keeps a job 4 days (SQS's default). */
export const JOB_RETENTION_SECONDS = 4 * 24 * 3600;
