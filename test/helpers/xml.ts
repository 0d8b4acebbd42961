/**
 * A small XML well-formedness check (no DTDs, no CDATA: what Vega's SVG writer emits): every
 * tag closed in order, attributes quoted, no bare '<' or '&' in text. Returns the root's name
 * and every element's name with its class attribute, for counting marks.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed XML at offset ${i}: ${why}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text.startsWith('<?', i)) i = text.indexOf('?>', i) + 2 || fail('unclosed <?');
      else if (text.startsWith('<!--', i)) i = text.indexOf('-->', i) + 3 || fail('unclosed comment');
      else return;
    }
  };
  const checkText = (s: string) => {
    if (s.includes('<')) fail('bare < in text');
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s)) fail('bare & in text');
  };
  const element = (): XmlElement => {
    const m = /^<([A-Za-z_][\w:.-]*)/.exec(text.slice(i, i + 200)) ?? fail('expected a start tag');
    const name = m[1];
    i += m[0].length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (/\s/.test(text[i])) i++;
      if (text.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [] };
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      const a = /^([A-Za-z_][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(text.slice(i)) ?? fail(`bad attribute in <${name}>`);
      if (a[1] in attrs) fail(`duplicate attribute ${a[1]}`);
      const value = a[3] ?? a[4];
      checkText(value);
      attrs[a[1]] = value;
      i += a[0].length;
    }
    const children: XmlElement[] = [];
    for (;;) {
      const next = text.indexOf('<', i);
      if (next < 0) fail(`unclosed <${name}>`);
      checkText(text.slice(i, next));
      i = next;
      if (text.startsWith('</', i)) {
        const c = /^<\/([A-Za-z_][\w:.-]*)\s*>/.exec(text.slice(i, i + 200)) ?? fail('bad end tag');
        if (c[1] !== name) fail(`</${c[1]}> closes <${name}>`);
        i += c[0].length;
        return { name, attrs, children };
      }
      if (text.startsWith('<!--', i)) {
        i = text.indexOf('-->', i) + 3 || fail('unclosed comment');
        continue;
      }
      children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < text.length) fail('content after the root element');
  return root;
}

/** Every element below (and including) `root`, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}

/**
 * Marks of one kind drawn by Vega ('rect', 'symbol', 'text', ...): the children of its
 * "mark-<kind> role-mark" groups (one group per facet cell).
 */
export function countMarks(root: XmlElement, kind: string): number {
  return allElements(root)
    .filter((e) => e.name === 'g' && (e.attrs.class ?? '').startsWith(`mark-${kind} role-mark`))
    .reduce((n, g) => n + g.children.length, 0);
}
