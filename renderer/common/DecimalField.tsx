/**
 * A labelled text field for a decimal number, kept as the text the user typed (a comma or a
 * point, a half-typed value): the screen parses and judges it, and marks it invalid here.
 */
export function DecimalField(props: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  invalid: boolean;
  placeholder?: string;
  testId: string;
}) {
  return (
    <label>
      {props.label}
      <input
        inputMode="decimal"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        placeholder={props.placeholder}
        aria-invalid={props.invalid}
        data-testid={props.testId}
      />
    </label>
  );
}
