/**
 * Temperature sensors in words: boards name them in their record schema with short ids ("cells1",
 * "mosfet"); people read "Cells 1", "Power switch (MOSFET)". A sensor without a name is
 * "Sensor N", never a bare number.
 */
const KNOWN: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^cells?[ _-]?(\d+)$/i, (m) => `Cells ${m[1]}`],
  [/^cells?$/i, () => 'Cells'],
  [/^(mosfet|fet|fets)$/i, () => 'Power switch (MOSFET)'],
  [/^(board|pcb|bms)$/i, () => 'BMS board'],
  [/^(ambient|env)$/i, () => 'Ambient'],
  [/^(balancer|balance)$/i, () => 'Balancer'],
];

export function sensorName(label: string | null | undefined, index: number): string {
  const l = label?.trim();
  if (!l) return `Sensor ${index + 1}`;
  for (const [re, name] of KNOWN) {
    const m = re.exec(l);
    if (m) return name(m);
  }
  return l.charAt(0).toUpperCase() + l.slice(1);
}
