import '@testing-library/jest-dom';

// Component tests type into dialogs; under CI load (2 shared cores) 5 s is not enough.
jest.setTimeout(30_000);
