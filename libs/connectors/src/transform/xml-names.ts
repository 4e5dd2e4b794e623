/** An XML Name (element or attribute), simplified to letters, digits and `_ . - :`. */
const XML_NAME = /^[\p{L}_][\p{L}\p{N}_.:-]*$/u;

export function isXmlName(name: string): boolean {
  return XML_NAME.test(name);
}
