import { acknowledgement, describeAnswer, reasonsByItem, reasonsForItem } from './answer-bodies.js';
import type { SiroResponse, SiroTransportError } from './client.js';

/**
 * What each of Siro's answers means, as one table: the delivery engine applies it to every sync request and
 * `check` reads it for the caller-identity request. Pure: no I/O, no clock, no retry counting (the sender
 * keeps budgets; this says which kind of answer it was).
 *
 * | answer                                  | meaning          | action                                              |
 * | --------------------------------------- | ---------------- | --------------------------------------------------- |
 * | 2xx with Siro's acknowledgement         | acknowledged     | acknowledged: every item, with Siro's ids           |
 * | 2xx with anything else (HTML, empty...) | acknowledged     | retry: not Siro; never counts as a delivery         |
 * | 429                                     | rate-limited     | retry-after: everyone pauses; not counted           |
 * | 408, 5xx, timeout, connection failure   | failed           | retry: backoff, counted against the retry budget    |
 * | 400, 422 for one item                   | refused-items    | reject-items: the item, with Siro's reasons         |
 * | 400, 422 with item-index paths          | refused-items    | split-by-paths: reject those, re-send the rest      |
 * | 400, 422 without item-index paths       | refused-items    | bisect: halve until single items are refused        |
 * | 413 for one item                        | too-large        | reject-items: the item                              |
 * | 413 for several                         | too-large        | too-large: halve, and make later batches smaller    |
 * | 401                                     | token-refused    | fatal: check api_token                              |
 * | 403                                     | access-refused   | fatal: the token's rights, or the User-Agent        |
 * | 404                                     | no-endpoint      | fatal: check base_url                               |
 * | any other status (other 4xx, 1xx, 3xx)  | refused          | fatal                                               |
 */

export type StatusMeaning =
  | 'acknowledged'
  | 'rate-limited'
  | 'failed'
  | 'refused-items'
  | 'too-large'
  | 'token-refused'
  | 'access-refused'
  | 'no-endpoint'
  | 'refused';

const MEANING_BY_STATUS: Readonly<Record<number, StatusMeaning>> = {
  400: 'refused-items',
  401: 'token-refused',
  403: 'access-refused',
  404: 'no-endpoint',
  408: 'failed',
  413: 'too-large',
  422: 'refused-items',
  429: 'rate-limited',
};

/** The table's first column: what an HTTP status means before its body is read. */
export function statusMeaning(status: number): StatusMeaning {
  if (status >= 200 && status < 300) return 'acknowledged';
  return MEANING_BY_STATUS[status] ?? (status >= 500 ? 'failed' : 'refused');
}

/** The request an answer replies to, as far as its meaning depends on it. */
export interface AnsweredRequest {
  method: string;
  /** The API path, and the full URL (for a 404, which says base_url is wrong). */
  path: string;
  url: string;
  userAgent: string;
  /** The externalIds of the items sent, in order. */
  externalIds: readonly string[];
  /** Sent to a batch endpoint: Siro's issue paths then start with the item's index. */
  batchEndpoint: boolean;
}

export type AnswerAction =
  /** siroIds: Siro's id of each item, in sending order, where it gave one. */
  | { action: 'acknowledged'; siroIds: (string | undefined)[] }
  /** serverError: a 5xx, Siro answered but failed (408, timeouts and connection failures are not). */
  | { action: 'retry'; failure: string; serverError: boolean }
  | { action: 'retry-after'; retryAfter: string | string[] | undefined }
  | { action: 'reject-items'; status: number; reasons: string[] }
  | { action: 'split-by-paths'; status: number; reasonsByItem: Map<number, string[]> }
  | { action: 'bisect'; why: string }
  | { action: 'too-large' }
  | { action: 'fatal'; status: number; message: string };

/** What the sender does about one answer (or about getting none: a transport failure). */
export function answerAction(
  answer: Pick<SiroResponse, 'status' | 'headers' | 'body'> | Pick<SiroTransportError, 'kind' | 'message'>,
  request: AnsweredRequest,
): AnswerAction {
  if ('kind' in answer) return { action: 'retry', failure: answer.message, serverError: false };
  const { status } = answer;
  const items = request.externalIds.length;
  switch (statusMeaning(status)) {
    case 'acknowledged': {
      const ack = acknowledgement(answer.body, request.externalIds, request.batchEndpoint);
      if (ack.ok) return { action: 'acknowledged', siroIds: ack.siroIds };
      // Not an acknowledgement: a failed request (retried), never a delivery.
      return { action: 'retry', failure: notSiro(request, status, ack.why), serverError: false };
    }
    case 'rate-limited':
      return { action: 'retry-after', retryAfter: answer.headers['retry-after'] };
    case 'failed':
      return { action: 'retry', failure: describeAnswer(status, answer.body), serverError: status >= 500 };
    case 'refused-items': {
      if (items === 1) return { action: 'reject-items', status, reasons: reasonsForItem(status, answer.body, request.batchEndpoint) };
      const named = reasonsByItem(status, answer.body, items);
      if (!named) return { action: 'bisect', why: `Siro refused the batch (${status}) without naming items` };
      return { action: 'split-by-paths', status, reasonsByItem: named };
    }
    case 'too-large':
      if (items === 1) return { action: 'reject-items', status, reasons: reasonsForItem(status, answer.body, false) };
      return { action: 'too-large' };
    case 'token-refused':
      return fatal(status, `Siro refused the API token (401): check api_token (Siro said: ${describeAnswer(status, answer.body)})`);
    case 'access-refused':
      return fatal(
        status,
        `the API token lacks rights for ${request.method} ${request.path} (403), or Siro's edge refused the User-Agent "${request.userAgent}": check the token's organization and rights, or set user_agent (Siro said: ${describeAnswer(status, answer.body)})`,
      );
    case 'no-endpoint':
      return fatal(status, `Siro has no endpoint ${request.method} ${request.url} (404): check base_url (Siro said: ${describeAnswer(status, answer.body)})`);
    case 'refused':
      return fatal(status, `Siro refused ${request.method} ${request.path} with ${status}: ${describeAnswer(status, answer.body)}`);
  }
}

function notSiro(request: AnsweredRequest, status: number, why: string): string {
  const base = request.url.endsWith(request.path) ? request.url.slice(0, -request.path.length) : request.url;
  return `the server at base_url ${base} does not answer as Siro: ${request.method} ${request.path} got ${status} with ${why}`;
}

function fatal(status: number, message: string): AnswerAction {
  return { action: 'fatal', status, message };
}
