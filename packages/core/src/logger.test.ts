import { createLogger } from './logger';

describe('createLogger: calls below the level cost nothing', () => {
  function spied(level: string) {
    const log = createLogger({ service: 'test', level });
    // stop at the stream: every line that would be formatted and written passes here
    const write = jest.spyOn(log, 'write').mockImplementation(() => true);
    return { log, write };
  }

  it('a debug line on an info logger never reaches the stream; info lines do', () => {
    const { log, write } = spied('info');
    log.debug('not written', { big: 'x'.repeat(10) });
    expect(write).not.toHaveBeenCalled();
    log.info('written', { n: 1 });
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('follows a level changed at run time, and child loggers share it', () => {
    const { log, write } = spied('info');
    const child = log.child({ part: 'c' });
    child.debug('not yet');
    expect(write).not.toHaveBeenCalled();
    log.level = 'debug';
    log.debug('now', { n: 1 });
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('a silent logger writes nothing', () => {
    const log = createLogger({ service: 'test', silent: true });
    const write = jest.spyOn(log, 'write');
    log.error('quiet');
    expect(write).not.toHaveBeenCalled();
  });
});
