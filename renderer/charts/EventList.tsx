import { useEffect, useState } from 'react';
import type { EventsReply } from '../../shared/api/series-schemas.js';
import { dateTime } from './time-axis.js';

export type EventPage = EventsReply['events'];
/** Reads one page of events in [t0, t1) from position `from`. */
export type EventLoader = (t0: number, t1: number, from: number, limit: number) => Promise<EventsReply>;

const PAGE = 200;

/**
 * The events in the visible range, by name and time, a page at a time (a long log's events are
 * never cut: "Show more" reads the next page). "Show" moves the charts to an event. Reports the
 * events it lists, so the charts can mark them.
 */
export function EventList({
  load,
  range,
  onJump,
  onEvents,
}: {
  load: EventLoader;
  range: [number, number] | null;
  onJump: (t: number) => void;
  onEvents?: (events: EventPage) => void;
}) {
  const [events, setEvents] = useState<EventPage>([]);
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const t0 = range?.[0];
  const t1 = range?.[1];

  useEffect(() => {
    if (t0 === undefined || t1 === undefined) return;
    let live = true;
    // Waits for the view to settle (a wheel turn is many steps) before reading.
    const timer = setTimeout(() => {
      load(t0, t1, 0, PAGE)
        .then((r) => {
          if (!live) return;
          setEvents(r.events);
          setTotal(r.total);
          setNext(r.next);
          setError(null);
          onEvents?.(r.events);
        })
        .catch((e: Error) => live && setError(e.message));
    }, 120);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [load, t0, t1]);

  const more = () => {
    if (next === null || t0 === undefined || t1 === undefined) return;
    void load(t0, t1, next, PAGE).then((r) => {
      const all = [...events, ...r.events];
      setEvents(all);
      setNext(r.next);
      onEvents?.(all);
    });
  };

  return (
    <section className="event-list" aria-label="Events" data-testid="event-list">
      <h3>
        Events in view <span className="muted small">({total.toLocaleString()})</span>
      </h3>
      {error && <p className="bad-text small">{error}</p>}
      {total === 0 ? (
        <p className="muted small">No events in this range.</p>
      ) : (
        <ol>
          {events.map((e) => (
            <li key={e.index}>
              <button className="link" onClick={() => onJump(e.t)} title={e.name}>
                <time dateTime={new Date(e.t).toISOString()}>{dateTime(e.t)}</time> {e.label}
              </button>
            </li>
          ))}
        </ol>
      )}
      {next !== null && (
        <button onClick={more} data-testid="events-more">
          Show {Math.min(PAGE, total - events.length).toLocaleString()} more of {(total - events.length).toLocaleString()}
        </button>
      )}
    </section>
  );
}
