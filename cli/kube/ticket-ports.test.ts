import { ticketPorts } from './ticket-ports';

const base = { portMapping: [] as [number, number][], ignorePorts: [] as number[] };

describe("a ticket request's ports", () => {
  it('ask for any port when the config names none, with the mode and filter the session will use', () => {
    expect(ticketPorts({ ...base, mode: 'mirror' })).toEqual([{ port: 0, mode: 'mirror' }]);
    expect(ticketPorts({ ...base, mode: 'steal', httpFilter: { header: '^x-user: alice$' } })).toEqual([
      { port: 0, mode: 'steal', filter: { header: '^x-user: alice$' } },
    ]);
    expect(ticketPorts({ ...base, mode: 'off' })).toEqual([]);
  });

  it('name the configured ports, filtered only where the filter applies, without the ignored ones', () => {
    expect(ticketPorts({ ...base, mode: 'steal', ports: [80, 81, 9090], ignorePorts: [9090], httpFilter: { path: '^/api' }, httpFilterPorts: [80] })).toEqual([
      { port: 80, mode: 'steal', filter: { path: '^/api' } },
      { port: 81, mode: 'steal' },
    ]);
  });
});
