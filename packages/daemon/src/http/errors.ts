// Failures of the HTTP listeners; `flag` names the option to change.

export type HttpErrorCode = 'HTTP_LISTEN_FAILED';

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly flag: string;

  constructor(code: HttpErrorCode, flag: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.flag = flag;
  }
}
