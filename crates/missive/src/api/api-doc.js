// Renders missive's OpenAPI document (/api.json) as a page: one section per endpoint
// with its parameters, security and responses. Everything is built with the DOM and
// textContent, so nothing in the document is interpreted as HTML.

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

/** A short text for a JSON Schema: its type, format, bounds and allowed values. */
function describe(schema) {
  if (!schema || typeof schema !== 'object') return '';
  if (schema.$ref) return schema.$ref.replace('#/components/schemas/', '');
  const parts = [];
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))) {
    parts.push(`${type} of ${describe(schema.items) || 'any'}`);
  } else if (type) {
    parts.push(type);
  }
  if (schema.format) parts.push(`format ${schema.format}`);
  if (schema.enum) parts.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  for (const key of ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'pattern', 'default']) {
    if (schema[key] !== undefined) parts.push(`${key} ${JSON.stringify(schema[key])}`);
  }
  if (schema.uniqueItems) parts.push('unique');
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (schema[key]) parts.push(`${key}: ${schema[key].map(describe).join(', ')}`);
  }
  return parts.join(', ');
}

/** The parameter table of a request schema. */
function paramsTable(schema) {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return el('p', { class: 'muted' }, ['No parameters.']);
  const required = new Set(schema.required ?? []);
  const rows = props.map(([name, prop]) =>
    el('tr', {}, [
      el('td', {}, [el('code', {}, [name])]),
      el('td', {}, [describe(prop)]),
      el('td', {}, [required.has(name) ? 'required' : '']),
    ]));
  const table = el('table', {}, [
    el('tr', {}, [el('th', {}, ['name']), el('th', {}, ['schema']), el('th', {}, [''])]),
    ...rows,
  ]);
  const notes = [];
  if (schema.anyOf) notes.push(`One of: ${schema.anyOf.map((s) => s.required.join(', ')).join(' | ')}.`);
  if (schema.then) {
    notes.push(`Unless ${Object.keys(schema.if?.properties ?? {}).join(', ')} is given: ${describe(schema.then.properties?.text)} text required.`);
  }
  return el('div', {}, [table, ...notes.map((n) => el('p', { class: 'muted' }, [n]))]);
}

function responsesTable(responses) {
  const rows = Object.entries(responses).map(([status, response]) => {
    const schema = response.content?.['application/json']?.schema;
    return el('tr', {}, [
      el('td', {}, [status]),
      el('td', {}, [response.description ?? '']),
      el('td', {}, [schema ? describe(schema) : '']),
    ]);
  });
  return el('table', {}, [
    el('tr', {}, [el('th', {}, ['status']), el('th', {}, ['meaning']), el('th', {}, ['body'])]),
    ...rows,
  ]);
}

async function main() {
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  const response = await fetch('/api.json');
  const doc = await response.json();
  main.replaceChildren(
    el('h1', {}, [`${doc.info.title} ${doc.info.version}`]),
    el('p', {}, [doc.info.description]),
    el('p', {}, ['Base URL: ', el('code', {}, [doc.servers[0].url])]),
  );
  let lastTag = '';
  for (const [path, item] of Object.entries(doc.paths)) {
    const op = item.post;
    const tag = op.tags?.[0] ?? '';
    if (tag !== lastTag) {
      nav.append(el('h2', {}, [tag]));
      lastTag = tag;
    }
    const id = op.operationId;
    nav.append(el('a', { href: `#${id}` }, [path.slice(1)]));
    const schema = op.requestBody?.content?.['application/json']?.schema ?? {};
    main.append(el('section', { id }, [
      el('h3', {}, [el('span', { class: 'method' }, ['POST']), path]),
      el('p', {}, [op.description ?? '']),
      el('h4', {}, ['Parameters']),
      paramsTable(schema),
      el('h4', {}, ['Responses']),
      responsesTable(op.responses ?? {}),
    ]));
  }
  const schemas = Object.keys(doc.components?.schemas ?? {});
  nav.append(el('h2', {}, ['schemas']));
  for (const name of schemas) {
    nav.append(el('a', { href: `#schema-${name}` }, [name]));
    main.append(el('section', { id: `schema-${name}` }, [
      el('h3', {}, [name]),
      el('pre', {}, [JSON.stringify(doc.components.schemas[name], null, 2)]),
    ]));
  }
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

main().catch((e) => {
  const main = document.getElementById('main');
  if (main) main.textContent = `Could not load /api.json: ${e}`;
});
