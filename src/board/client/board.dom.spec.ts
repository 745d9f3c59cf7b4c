import { h, toDom } from './board.dom';

/** Just enough of a Document to see what toDom asks of it; setting any HTML-parsing sink throws. */
class FakeElement {
  readonly attributes: Array<[string, string]> = [];
  readonly childNodes: Array<FakeElement | { text: string }> = [];
  constructor(readonly tag: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.push([name, value]);
  }
  append(...nodes: Array<FakeElement | { text: string }>): void {
    this.childNodes.push(...nodes);
  }
  set innerHTML(_: string) {
    throw new Error('innerHTML');
  }
  set outerHTML(_: string) {
    throw new Error('outerHTML');
  }
}

const fakeDocument = {
  createElement: (tag: string) => new FakeElement(tag),
  createTextNode: (text: string) => ({ text }),
} as unknown as Document;

describe('h', () => {
  it('drops null, undefined and false children and attributes, and writes numbers as text', () => {
    expect(
      h('td', { class: 'num', title: undefined, hidden: false, colspan: 3 }, 0, null, false, 'x'),
    ).toEqual({
      tag: 'td',
      attrs: { class: 'num', colspan: '3' },
      children: ['0', 'x'],
    });
  });
});

describe('toDom', () => {
  it('turns strings into text nodes and attribute values into setAttribute calls, never markup', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const e = toDom(
      h('tr', { 'data-endpoint': evil }, h('td', null, evil)),
      fakeDocument,
    ) as unknown as FakeElement;
    expect(e.tag).toBe('tr');
    expect(e.attributes).toEqual([['data-endpoint', evil]]);
    const td = e.childNodes[0] as FakeElement;
    expect(td.tag).toBe('td');
    expect(td.childNodes).toEqual([{ text: evil }]);
  });
});
