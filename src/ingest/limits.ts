/** Segment's HTTP Tracking API limits, which clients already respect. */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
export const MAX_BATCH_EVENTS = 2500;
export const MAX_ID_LENGTH = 255;
export const MAX_EVENT_NAME_LENGTH = 255;
