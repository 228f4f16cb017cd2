import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../connector/mapping/html-text.js';
import { payloadOf, record, streamOf } from './helpers.js';

/** `html_to_text`: HTML bodies (HubSpot, Salesforce) as the text a person reads. */
describe('html_to_text', () => {
  it('drops tags, breaks lines at block ends, decodes named and numeric references, collapses blanks', () => {
    expect(htmlToText('<p>Agenda:</p><ul><li>Budget</li><li>Timeline</li></ul>')).toBe('Agenda:\nBudget\nTimeline');
    expect(htmlToText('Asked: &quot;Tuesday?&quot; &amp; it&#39;s &lt;urgent&gt; &#x27;ok&#x27;&nbsp;&nbsp;now')).toBe('Asked: "Tuesday?" & it\'s <urgent> \'ok\' now');
    expect(htmlToText('a<br>b<br/>c<BR />d')).toBe('a\nb\nc\nd');
    expect(htmlToText('<style>p{}</style><script>alert(1)</script>kept<!-- note -->')).toBe('kept');
    // Unknown names stay as written; references to no character become U+FFFD.
    expect(htmlToText('&bogus; &#0; &#x110000;')).toBe('&bogus; \uFFFD \uFFFD');
    expect(htmlToText(null)).toBe('');
    expect(htmlToText('plain text, no HTML')).toBe('plain text, no HTML');
  });

  it('is a filter of mapping templates', () => {
    const mapping = streamOf(`
      externalId: id
      content: { template: "{{ body | html_to_text }}" }
    `);
    expect(payloadOf(mapping.map(record('{"id":"1","body":"<div>Thanks &mdash; we&#39;ll sign.</div>"}'))).content).toBe('Thanks — we\'ll sign.');
    expect(payloadOf(mapping.map(record('{"id":"2","body":null}'))).content).toBeNull();
  });
});
