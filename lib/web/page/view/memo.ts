/**
 * `memo` without preact/compat (which would bring React's whole
 * compatibility layer into the bundle for this one function): a component
 * that draws again only when one of its props changed (compared with ===).
 *
 * Owns: nothing else. Imports preact.
 */
import { Component, type FunctionComponent, type VNode } from "preact";

/** `render` as a component that skips a redraw when no prop changed. */
export function memo<P extends object>(render: (props: P) => VNode | null): FunctionComponent<P> {
  class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const previous = this.props as Record<string, unknown>;
      const now = next as Record<string, unknown>;
      for (const key in now) if (now[key] !== previous[key]) return true;
      for (const key in previous) if (!(key in now)) return true;
      return false;
    }
    override render(props: P): VNode | null {
      return render(props);
    }
  }
  return Memo as unknown as FunctionComponent<P>;
}
