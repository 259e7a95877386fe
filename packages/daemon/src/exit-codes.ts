// feltd's exit codes: 0 clean, 1 failure (the supervisor restarts it), 2 bad config (it should not).
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_CONFIG = 2;
