import useAsync from 'react-use/esm/useAsync';
import {
  Breadcrumbs,
  Content,
  EmptyState,
  Header,
  InfoCard,
  Link,
  MarkdownContent,
  Page,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
  useAppLocation,
} from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import Box from '@material-ui/core/Box';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import FolderIcon from '@material-ui/icons/Folder';
import FileIcon from '@material-ui/icons/InsertDriveFileOutlined';
import {
  BrowsePath,
  browseUrl,
  findReadme,
  listDirectory,
  parseBrowsePath,
} from './paths';

const MAX_SHOWN_BYTES = 512 * 1024;

function useGitHost() {
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  return async (p: string) => {
    const base = await discoveryApi.getBaseUrl('git-host');
    const res = await fetchApi.fetch(`${base}/repos/${p}`);
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res;
  };
}

const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');

function Crumbs(props: { at: BrowsePath }) {
  const { repo, ref, path } = props.at;
  const parts = path ? path.split('/') : [];
  return (
    <Breadcrumbs aria-label="path">
      <Link to={browseUrl(repo, 'tree', ref)}>{repo}</Link>
      {parts.map((part, i) =>
        i === parts.length - 1 ? (
          <Typography key={i}>{part}</Typography>
        ) : (
          <Link key={i} to={browseUrl(repo, 'tree', ref, parts.slice(0, i + 1).join('/'))}>
            {part}
          </Link>
        ),
      )}
    </Breadcrumbs>
  );
}

function FileView(props: { at: BrowsePath }) {
  const gitHost = useGitHost();
  const { repo, ref, path } = props.at;
  const file = useAsync(async () => {
    const res = await gitHost(`${enc(repo)}/blob/${encodeURIComponent(ref)}/${enc(path)}?raw`);
    return res.text();
  }, [repo, ref, path]);
  if (file.loading) return <Progress />;
  if (file.error) return <ResponseErrorPanel error={file.error} />;
  const text = file.value ?? '';
  const shown = text.length > MAX_SHOWN_BYTES ? text.slice(0, MAX_SHOWN_BYTES) : text;
  return (
    <InfoCard title={path.split('/').pop()} subheader={`${text.length} bytes at ${ref}`}>
      {/\.md$/i.test(path) ? (
        <MarkdownContent content={shown} />
      ) : (
        <Box
          component="pre"
          data-testid="file-content"
          style={{ overflowX: 'auto', margin: 0, fontSize: 13 }}
        >
          {shown}
        </Box>
      )}
      {shown.length < text.length && (
        <Typography variant="caption">(first {MAX_SHOWN_BYTES} bytes shown)</Typography>
      )}
    </InfoCard>
  );
}

function Readme(props: { at: BrowsePath; path: string }) {
  const gitHost = useGitHost();
  const { repo, ref } = props.at;
  const readme = useAsync(async () => {
    const res = await gitHost(`${enc(repo)}/blob/${encodeURIComponent(ref)}/${enc(props.path)}?raw`);
    return res.text();
  }, [repo, ref, props.path]);
  if (readme.loading) return <Progress />;
  if (readme.error) return <ResponseErrorPanel error={readme.error} />;
  return (
    <InfoCard title={props.path.split('/').pop()}>
      <Box data-testid="readme">
        <MarkdownContent content={readme.value ?? ''} />
      </Box>
    </InfoCard>
  );
}

function TreeView(props: { at: BrowsePath }) {
  const gitHost = useGitHost();
  const { repo, ref, path } = props.at;
  const tree = useAsync(async () => {
    const res = await gitHost(`${enc(repo)}/tree/${encodeURIComponent(ref)}`);
    return (await res.json()) as { commit: string; files: string[] };
  }, [repo, ref]);
  if (tree.loading) return <Progress />;
  if (tree.error) return <ResponseErrorPanel error={tree.error} />;
  const entries = listDirectory(tree.value?.files ?? [], path);
  if (!entries) {
    return (
      <EmptyState
        missing="data"
        title="No such directory"
        description={`${path} does not exist at ${ref} in ${repo}.`}
      />
    );
  }
  const readme = findReadme(entries);
  return (
    <>
      <InfoCard title={path || repo} subheader={`commit ${tree.value?.commit.slice(0, 10)}`}>
        <Table size="small" aria-label="files">
          <TableBody>
            {entries.map(e => (
              <TableRow key={e.path}>
                <TableCell style={{ width: 32 }}>
                  {e.type === 'dir' ? <FolderIcon fontSize="small" /> : <FileIcon fontSize="small" />}
                </TableCell>
                <TableCell>
                  <Link to={browseUrl(repo, e.type === 'dir' ? 'tree' : 'blob', ref, e.path)}>
                    {e.name}
                  </Link>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </InfoCard>
      {readme && (
        <Box mt={3}>
          <Readme at={props.at} path={readme.path} />
        </Box>
      )}
    </>
  );
}

/** The portal's browser of the local git host's repositories: tree, file, README rendered. */
export function RepoBrowserPage() {
  // The app owns navigation since 1.57 (router-independent): read the location from it.
  const location = useAppLocation();
  const discoveryApi = useApi(discoveryApiRef);
  const marker = '/git-host/';
  const idx = location.pathname.indexOf(marker);
  const at = idx >= 0 ? parseBrowsePath(location.pathname.slice(idx + marker.length)) : undefined;
  const cloneUrl = useAsync(async () => {
    if (!at) return undefined;
    return `${await discoveryApi.getBaseUrl('git-host')}/repos/${at.repo}.git`;
  }, [at?.repo]);

  return (
    <Page themeId="tool">
      <Header
        title={at ? at.repo : 'Repositories'}
        subtitle={cloneUrl.value ? `git clone ${cloneUrl.value}` : 'Local git host'}
      />
      <Content>
        {!at ? (
          <EmptyState
            missing="info"
            title="Open a repository"
            description="Use “View source” on a service, or a URL of the form /git-host/<repo>/tree/<branch>/<path>."
          />
        ) : (
          <>
            <Box mb={2}>
              <Crumbs at={at} />
            </Box>
            {at.kind === 'tree' ? <TreeView at={at} /> : <FileView at={at} />}
          </>
        )}
      </Content>
    </Page>
  );
}
